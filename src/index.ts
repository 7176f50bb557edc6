/**
 * The package entry (package.json "main"): the programmatic API the CLI and the REST API are
 * thin layers over. The CLI does not import this file, so nothing here costs start-up time.
 */
export { startDaemon, type Daemon } from './daemon/daemon.js';
export { DAEMON_DEFAULTS, withDefaults, type DaemonOptions, type DaemonRuntime } from './daemon/options.js';
export {
  crossCheck,
  loadConfig,
  parseJobText,
  parseNodeText,
  validateJobBody,
  ConfigWatcher,
  type ConfigSnapshot,
  type LoadOptions,
} from './config/index.js';
export { compileSchedule } from './schedule/index.js';
export type { JobDef, NodeDef, ConfigProblem } from './core/types.js';
