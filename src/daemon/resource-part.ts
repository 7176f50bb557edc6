import type { AsyncStore } from '../store/async-store.js';
import type { ConfigView } from './config-view.js';
import type { Base } from './parts.js';
import { ResourceBroker } from './resource-broker.js';

/**
 * Shared resource pools (SPEC §16): holdings of runs that are no longer running (cut off by the
 * last stop, or by a dead member) are given back now and on every sweep after.
 */
export async function openResources(
  base: Base,
  deps: { store: AsyncStore; config: ConfigView },
): Promise<ResourceBroker> {
  const { metrics } = base;
  const broker = new ResourceBroker({
    store: deps.store,
    clock: base.clock,
    logger: base.logger,
    pools: () => deps.config.poolMap(),
    onAcquired: (pool) => metrics.resourceAcquisitions.inc({ pool }),
    onWaitTimedOut: (pool) => metrics.resourceWaitTimeouts.inc({ pool }),
  });
  await broker.releaseStale();
  base.cleanup.push('resource sweep', broker.startSweeping());
  metrics.watchResources(() => broker.use());
  return broker;
}
