import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { Store } from '../store/store.js';
import type { DaemonOptions } from './options.js';

const BATCH = 200;
const EVERY_MS = 60_000;

/**
 * SPEC §8 retention: prune finished runs older than --retention in small batches (a batch per
 * event-loop turn) so the daemon never blocks on a large delete. Returns its cleanup.
 */
export function startRetention(
  store: Store,
  options: DaemonOptions,
  clock: Clock,
  logger: Logger,
): () => void {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const tick = async () => {
    let pruned = 0;
    try {
      for (let n = BATCH; n === BATCH && !stopped; pruned += n) {
        n = store.pruneRuns(clock.now() - options.retentionMs, BATCH);
        await new Promise((r) => setImmediate(r));
      }
      if (pruned > 0) logger.info({ pruned }, 'pruned runs past retention');
    } catch (err) {
      logger.error({ err }, 'retention pruning failed');
    }
    if (!stopped) timer = setTimeout(() => void tick(), EVERY_MS).unref();
  };
  timer = setTimeout(() => void tick(), 5_000).unref();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
