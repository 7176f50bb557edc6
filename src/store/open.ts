/**
 * `--db` (or DISTCRON_DB): a postgres:// or postgresql:// URL selects PostgreSQL, anything else
 * is the path of a SQLite file (SPEC §15).
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { AsyncStore } from './async-store.js';
import { openPostgresStore } from './postgres.js';
import { openSqliteAsyncStore } from './sqlite-async.js';

export interface OpenStoreOptions {
  logger?: Logger;
  clock?: Clock;
  /** PostgreSQL only: connections in the pool. */
  poolSize?: number;
  /**
   * PostgreSQL only: the server ends a session idle inside a transaction this long, releasing
   * its locks (a member paused mid-claim must not hold the lease row's lock past the lease TTL).
   */
  idleInTransactionTimeoutMs?: number;
  /** SQLite only: how long a write waits for another connection's lock. */
  busyTimeoutMs?: number;
}

export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

export async function openStore(db: string, options: OpenStoreOptions = {}): Promise<AsyncStore> {
  const { logger, clock } = options;
  if (isPostgresUrl(db)) {
    const { poolSize, idleInTransactionTimeoutMs } = options;
    return openPostgresStore({ url: db, poolSize, logger, clock, idleInTransactionTimeoutMs });
  }
  return openSqliteAsyncStore({ path: db, busyTimeoutMs: options.busyTimeoutMs, logger, clock });
}
