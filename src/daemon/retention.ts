import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { AsyncStore } from '../store/async-store.js';
import type { DaemonOptions } from './options.js';

const BATCH = 200;
const EVERY_MS = 60_000;

/**
 * SPEC §8 retention: prune finished runs older than --retention in small batches (a batch per
 * event-loop turn) so the daemon never blocks on a large delete. Returns its cleanup.
 */
export function startRetention(
  store: AsyncStore,
  options: DaemonOptions,
  clock: Clock,
  logger: Logger,
): () => Promise<void> {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    let pruned = 0;
    try {
      for (let n = BATCH; n === BATCH && !stopped; pruned += n) {
        n = await store.pruneRuns(clock.now() - options.retentionMs, BATCH);
        await new Promise((r) => setImmediate(r));
      }
      if (pruned > 0) logger.info({ pruned }, 'pruned runs past retention');
    } catch (err) {
      logger.error({ err }, 'retention pruning failed');
    }
    if (!stopped) timer = setTimeout(start, EVERY_MS).unref();
  };
  const start = () => void (running = tick());
  timer = setTimeout(start, 5_000).unref();
  // The store closes after this: a batch in progress finishes first.
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await running;
  };
}
