/**
 * One daemon per database. A second daemon on the same SQLite file would take the first one's
 * runs for leftovers of a crash and mark them lost, and both would schedule every job.
 *
 * The lock is a small SQLite file next to the database (`<db>.lock`) in which the holder keeps
 * a write transaction open for its whole life. SQLite's file locks (fcntl) belong to the
 * process: the kernel drops them when it dies, kill -9 included, so a crash never leaves a
 * stale lock behind. The holder's pid, host and start time are committed before the lock is
 * taken for good, so a refused daemon can name who holds it. I/O.
 */
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';

export interface DaemonLock {
  readonly path: string;
  /** Gives the lock up (the process exiting does the same). Idempotent. */
  release(): void;
}

interface Holder {
  pid: number;
  host: string;
  started_at: string;
}

export class DaemonLockedError extends Error {}

/** Takes the lock of database `dbPath`, or throws DaemonLockedError naming the holder. */
export function acquireDaemonLock(dbPath: string, now: Date = new Date()): DaemonLock {
  const path = `${dbPath}.lock`;
  mkdirSync(dirname(path), { recursive: true });
  // A held lock never frees: the short wait only covers another daemon reading the holder row
  // while this one commits it.
  const db = new BetterSqlite3(path, { timeout: 1000 });
  try {
    db.pragma('journal_mode = DELETE');
    db.exec(
      'CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER, host TEXT, started_at TEXT)',
    );
    const me: Holder = { pid: process.pid, host: hostname(), started_at: now.toISOString() };
    // Say who we are (committed, so a refused daemon can read it), then hold the write lock.
    // If another daemon slips in between the two, the second BEGIN fails and we refuse.
    if (!tryBegin(db)) throw lockedError(db, dbPath);
    db.prepare(
      'INSERT OR REPLACE INTO holder (id, pid, host, started_at) VALUES (1, @pid, @host, @started_at)',
    ).run(me);
    db.exec('COMMIT');
    if (!tryBegin(db)) throw lockedError(db, dbPath);
  } catch (err) {
    db.close();
    throw err;
  }
  let released = false;
  return {
    path,
    release: () => {
      if (released) return;
      released = true;
      db.close();
    },
  };
}

function tryBegin(db: Database): boolean {
  try {
    db.exec('BEGIN IMMEDIATE');
    return true;
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY')) return false;
    throw err;
  }
}

function lockedError(db: Database, dbPath: string): DaemonLockedError {
  let holder: Holder | undefined;
  try {
    holder = db.prepare('SELECT pid, host, started_at FROM holder WHERE id = 1').get() as Holder | undefined;
  } catch {
    holder = undefined; // the holder is writing its name right now
  }
  const who = holder
    ? `pid ${holder.pid} on host ${holder.host}, started ${holder.started_at}`
    : 'a process that is still starting';
  return new DaemonLockedError(
    `another distcron daemon is using the database ${dbPath} (${who}); stop it first, or give this daemon its own --db`,
  );
}
