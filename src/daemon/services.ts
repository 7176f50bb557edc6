import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { RunRecord } from '../core/types.js';
import type { Store } from '../store/store.js';
import type { DaemonControl } from './control.js';
import type { DaemonOptions } from './options.js';

export interface ServiceDeps {
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  store: Store;
  control: DaemonControl;
}

/** The daemon's outward-facing parts: REST API, Elasticsearch shipper, notifier. */
export interface Services {
  apiUrl: string | null;
  /** New outbox entries exist (a run finished). */
  wake(run?: RunRecord): void;
  close(): Promise<void>;
}

export async function startServices(_options: DaemonOptions, _deps: ServiceDeps): Promise<Services> {
  return { apiUrl: null, wake: () => undefined, close: async () => undefined };
}
