import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import { migrate } from './migrations.js';
import { prepareStatements, type Statements } from './statements.js';

export interface SqliteStoreOptions {
  /** Database file; its directory is created when missing. */
  path: string;
  logger?: Logger;
  /** How long a write waits for another connection's lock before failing (default 5000). */
  busyTimeoutMs?: number;
  /** Stamps outbox entries (created_at, first attempt); pass the daemon's clock. */
  clock?: Clock;
}

export const STORE_DEFAULTS = {
  busyTimeoutMs: 5000,
  deadLetterListLimit: 100,
  cacheSizeKiB: 65536,
} as const;

/** Opens (creating directory and file when missing), configures and migrates the database. */
export function openDatabase(
  path: string,
  options: SqliteStoreOptions,
  logger: Logger,
): { db: Database; st: Statements } {
  const busyTimeoutMs = Math.max(0, Math.floor(options.busyTimeoutMs ?? STORE_DEFAULTS.busyTimeoutMs));
  mkdirSync(dirname(path), { recursive: true });
  const db = new BetterSqlite3(path, { timeout: busyTimeoutMs });
  try {
    configure(db, busyTimeoutMs);
    const applied = migrate(db, path);
    // SQLite's advice for long-lived connections: refresh planner statistics (cheaply) at open.
    db.pragma('optimize = 0x10002');
    const st = prepareStatements(db);
    logger.info({ path, migrationsApplied: applied }, 'store: opened');
    return { db, st };
  } catch (err) {
    db.close();
    throw err;
  }
}

function configure(db: Database, busyTimeoutMs: number): void {
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  db.pragma('journal_mode = WAL');
  // In WAL mode NORMAL syncs at checkpoints, not at every commit: a committed transaction
  // survives kill -9 of this process (it is in the WAL file), but an OS crash or power loss
  // may lose the last few transactions. FULL would fsync every commit at a large write cost.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // A large page cache keeps the hot index pages of a big runs table in memory.
  db.pragma(`cache_size = -${STORE_DEFAULTS.cacheSizeKiB}`);
}
