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
  /** SQLite only: how long a write waits for another connection's lock. */
  busyTimeoutMs?: number;
}

export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

export async function openStore(db: string, options: OpenStoreOptions = {}): Promise<AsyncStore> {
  const { logger, clock } = options;
  if (isPostgresUrl(db)) return openPostgresStore({ url: db, poolSize: options.poolSize, logger, clock });
  return openSqliteAsyncStore({ path: db, busyTimeoutMs: options.busyTimeoutMs, logger, clock });
}
