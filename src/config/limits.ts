/** Limits of the config layer, in one place. */

/** Larger files are refused unread: a job or node definition is a few hundred bytes. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;
