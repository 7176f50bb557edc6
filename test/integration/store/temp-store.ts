import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../src/core/clock.js';
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from '../../../src/store/sqlite.js';
import { REFERENCE_TIME } from '../../harness/runs.js';

/**
 * A real SQLite file in a fresh temp directory per test. Every store opened through it is
 * closed, and the directory removed, by `cleanup()` (call it from afterEach).
 */
export class TempStore {
  readonly dir = mkdtempSync(join(tmpdir(), 'distcron-store-'));
  readonly path = join(this.dir, 'data', 'distcron.db');
  readonly clock = new ManualClock(REFERENCE_TIME);
  private readonly opened: SqliteStore[] = [];

  open(options: Partial<SqliteStoreOptions> = {}): SqliteStore {
    const store = openSqliteStore({ path: this.path, clock: this.clock, busyTimeoutMs: 2000, ...options });
    this.opened.push(store);
    return store;
  }

  cleanup(): void {
    for (const store of this.opened) store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
