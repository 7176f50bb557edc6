import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { ExecutorRegistry, type Executor } from '../exec/executor.js';
import { LocalExecutor } from '../exec/local.js';
import type { Store } from '../store/store.js';
import type { JobRegistry } from './job-registry.js';
import type { DaemonOptions } from './options.js';

export interface ExecutorDeps {
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  store: Store;
  registry: JobRegistry;
}

/** Local processes and SSH, routed by each node's connection type. */
export function createExecutors(_options: DaemonOptions, deps: ExecutorDeps): Executor {
  return new ExecutorRegistry({ local: new LocalExecutor({ clock: deps.clock }) });
}
