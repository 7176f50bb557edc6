import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { JobDef, RunRecord } from '../core/types.js';
import { runFinishedEntry } from '../notify/outbox.js';
import { esOutboxEntry } from '../report/outbox.js';
import type { AsyncStore } from '../store/async-store.js';
import { acquireDaemonLock } from '../store/daemon-lock.js';
import { isPostgresUrl, openStore } from '../store/open.js';
import type { OutboxEntry } from '../store/store.js';
import { notifiesFor } from './adhoc.js';
import type { CleanupStack } from './cleanup.js';
import type { JobTable } from './job-table.js';
import type { DaemonOptions } from './options.js';

/**
 * The daemon's parts, each built with what it needs and registering its own cleanup, so
 * startDaemon reads as the order they are wired in (and the reverse order they are undone in).
 * This file holds what every part is built with and the storage parts; the others are in
 * parts-config.ts, parts-nodes.ts, parts-cluster.ts, parts-queue.ts, parts-runs.ts and
 * parts-control.ts.
 */

/** What every part is built with. */
export interface Base {
  options: DaemonOptions;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  cleanup: CleanupStack;
}

export type OutboxFor = (run: RunRecord, job: JobDef | undefined) => OutboxEntry[];

/**
 * SQLite: one daemon per database file (its `<db>.lock`), taken before anything else, so runs
 * found `running` later are surely leftovers of this daemon's last stop. PostgreSQL: several
 * daemons share the database as members of a cluster (see joinCluster); nothing to lock here.
 */
export function lockDatabase(base: Base): void {
  const { options } = base;
  if (isPostgresUrl(options.dbPath)) return;
  const lock = acquireDaemonLock(options.dbPath);
  base.cleanup.push('daemon lock', () => lock.release());
}

export async function openStorage(base: Base): Promise<AsyncStore> {
  const { options, logger, clock } = base;
  const store = await openStore(options.dbPath, {
    poolSize: options.dbPoolSize,
    logger,
    clock,
    // A member paused inside a claim holds the lease row FOR SHARE: the server ends its session
    // after the TTL so the next leader's takeover is not blocked by it.
    idleInTransactionTimeoutMs: options.leaseTtlMs,
  });
  base.cleanup.push('store', () => store.close());
  return store;
}

/** Outbox entries queued with every final run: Elasticsearch when shipping, notifications (not for ad-hoc runs). */
export function outboxOf(options: DaemonOptions): OutboxFor {
  return (run, job) => [
    ...(options.esUrl ? [esOutboxEntry(run, job)] : []),
    ...(notifiesFor(run) ? [runFinishedEntry(run, job)] : []),
  ];
}

/** Runs found `running` at start-up were cut off by the last stop: recorded as lost. */
export async function markLost(
  base: Base,
  store: AsyncStore,
  jobs: JobTable,
  outboxFor: OutboxFor,
  member: string,
): Promise<RunRecord[]> {
  // On PostgreSQL only this member's own: the other members' runs are theirs (or the leader's to
  // record lost when their heartbeat stops).
  const lost = await store.markRunningAsLost(
    base.clock.now(),
    (run) => outboxFor(run, jobs.job(run.job)),
    member,
  );
  if (lost.length > 0)
    base.logger.warn({ count: lost.length }, 'runs in flight when the daemon stopped are recorded as lost');
  return lost;
}
