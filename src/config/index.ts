/** The config layer: pure parsing and checking, plus loading and watching the two directories. */
export { parseJobText, type JobParseOptions } from './parse-job.js';
export { parseNodeText, DEFAULT_MAX_CONCURRENT_RUNS } from './parse-node.js';
export { validateJobBody, type JobBodyOptions, type JobBodyResult } from './body.js';
export { isValidJobName, nameProblem, MAX_NAME_LENGTH } from './names.js';
export { crossCheck } from './cross-check.js';
export { MAX_CONFIG_FILE_BYTES } from './limits.js';
export type { ConfigSnapshot } from './table.js';
export type { ConfigDiff, NameDiff } from './diff.js';
export { loadConfig, type LoadOptions } from './load.js';
export { ConfigWatcher, type ConfigWatcherOptions, type ConfigChangeEvent } from './watch.js';
