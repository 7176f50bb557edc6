/**
 * The shared run queue's parts (SPEC §15), wired like those of parts.ts: the cluster-wide node
 * slots every attempt takes, and this member's queue worker, woken by work queued here, by the
 * store's notifications (PostgreSQL: another member queued work or gave a slot back) and by
 * its own poll; and the watcher of cancel requests aimed at this member's runs.
 */
import type { AsyncStore } from '../store/async-store.js';
import type { Bell } from './bell.js';
import { ClusterNodeSlots } from './node-slots.js';
import type { Base } from './parts.js';
import { CancelWatcher } from './remote-cancel.js';
import { RunQueueWorker } from './run-queue.js';
import type { Runner } from './runner.js';

export function buildNodeSlots(base: Base, store: AsyncStore, member: string): ClusterNodeSlots {
  const { clock, logger, options } = base;
  return new ClusterNodeSlots({ store, member, clock, logger, pollMs: options.queuePollMs });
}

/**
 * Starts taking queued executions; pushed after the drain so it stops taking before the drain
 * waits for what it took.
 */
export async function startRunQueue(
  base: Base,
  deps: { store: AsyncStore; runner: Runner; slots: ClusterNodeSlots; queued: Bell; member: string },
): Promise<RunQueueWorker> {
  const { options, clock, logger, cleanup } = base;
  const worker = new RunQueueWorker({
    store: deps.store,
    member: deps.member,
    maxRuns: options.maxRuns,
    pollMs: options.queuePollMs,
    clock,
    logger,
    execute: (taken) => deps.runner.executeTaken(taken),
  });
  deps.queued.listen(() => worker.wake());
  const cancels = new CancelWatcher({
    store: deps.store,
    member: deps.member,
    clock,
    logger,
    pollMs: options.queuePollMs,
    abortLocal: (runId, reason) => deps.runner.cancel(runId, reason),
    inFlight: () => worker.inFlight,
  });
  const cluster = deps.store.cluster;
  if (cluster) {
    const onWake = () => {
      worker.wake();
      deps.slots.wake();
    };
    const stopListening = await cluster.watchQueue(onWake, () => cancels.wake());
    cleanup.push('run queue notifications', stopListening);
  }
  worker.start();
  cleanup.push('run queue', () => worker.close());
  cancels.start();
  cleanup.push('cancel requests', () => cancels.close());
  return worker;
}
