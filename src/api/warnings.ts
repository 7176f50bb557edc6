/** Said at start-up and on /healthz while the API runs open on a non-loopback address. */
export const INSECURE_NO_AUTH_WARNING =
  'the API listens on a non-loopback address without tokens (--api-insecure-no-auth): ' +
  'anyone who can connect can run commands on every node';
