/**
 * The shared store suite: `describeStores(title, body)` runs `body` once against SQLite (a real
 * file in a fresh temp dir per test) and once against PostgreSQL (a fresh database per test on
 * one server started once per test run). Without PostgreSQL the second half prints a loud
 * SKIPPED line, and fails under CI=true (skip.ts).
 */
import BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ManualClock } from '../../../src/core/clock.js';
import type { AsyncStore, StoreKind } from '../../../src/store/async-store.js';
import { openPostgresStore } from '../../../src/store/postgres.js';
import { PG_TYPES } from '../../../src/store/postgres-session.js';
import { openSqliteAsyncStore } from '../../../src/store/sqlite-async.js';
import { postgresMissingReason, TestPostgres } from '../../harness/postgres.js';
import { REFERENCE_TIME } from '../../harness/runs.js';
import { skipSuite } from '../../harness/skip.js';

export const STORE_KINDS: readonly StoreKind[] = ['sqlite', 'postgres'];

let server: Promise<TestPostgres> | undefined;

/** One PostgreSQL server for the whole test run, stopped (and its files removed) at exit. */
export function sharedPostgres(): Promise<TestPostgres> {
  server ??= TestPostgres.start().then((pgServer) => {
    process.once('exit', () => pgServer.stop());
    return pgServer;
  });
  return server;
}

/** One test's database: each open() is another store (connection) on it; sql() reads it raw. */
export class StoreFixture {
  clock = new ManualClock(REFERENCE_TIME);
  private opened: AsyncStore[] = [];
  private dir: string | null = null;
  private database: string | null = null;

  constructor(
    readonly kind: StoreKind,
    private readonly pgServer: () => TestPostgres,
  ) {}

  /** The SQLite file of this test (SQLite only). */
  get path(): string {
    if (!this.dir) throw new Error('store fixture: path of a PostgreSQL fixture');
    return join(this.dir, 'data', 'distcron.db');
  }

  /** postgres:// URL of this test's database (PostgreSQL only). */
  get url(): string {
    if (!this.database) throw new Error('store fixture: url of a SQLite fixture');
    return this.pgServer().url(this.database);
  }

  setUp(): void {
    this.clock = new ManualClock(REFERENCE_TIME);
    if (this.kind === 'sqlite') this.dir = mkdtempSync(join(tmpdir(), 'distcron-store-'));
    else this.database = this.pgServer().createDatabase('store');
  }

  async open(): Promise<AsyncStore> {
    const store =
      this.kind === 'sqlite'
        ? openSqliteAsyncStore({ path: this.path, clock: this.clock, busyTimeoutMs: 2000 })
        : await openPostgresStore({ url: this.url, clock: this.clock, poolSize: 4 });
    this.opened.push(store);
    return store;
  }

  /** One raw statement on the test's database, outside any store; resolves its rows. */
  async sql(text: string): Promise<Record<string, unknown>[]> {
    if (this.kind === 'sqlite') {
      const db = new BetterSqlite3(this.path);
      try {
        const statement = db.prepare(text);
        if (statement.reader) return statement.all() as Record<string, unknown>[];
        statement.run();
        return [];
      } finally {
        db.close();
      }
    }
    const client = new pg.Client({ connectionString: this.url, types: PG_TYPES });
    await client.connect();
    try {
      return (await client.query(text)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  }

  async tearDown(): Promise<void> {
    const stores = this.opened;
    this.opened = [];
    for (const store of stores) await store.close();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    if (this.database) this.pgServer().psql(`DROP DATABASE ${this.database} WITH (FORCE)`);
    this.dir = this.database = null;
  }
}

/**
 * `describe(title [kind])` for each store kind, with a fresh fixture per test. `kinds` narrows
 * it for behaviour only one store has.
 */
export function describeStores(
  title: string,
  body: (fx: StoreFixture) => void,
  kinds: readonly StoreKind[] = STORE_KINDS,
): void {
  for (const kind of kinds) {
    describe(`${title} [${kind}]`, function () {
      let pgServer: TestPostgres | undefined;
      const fx = new StoreFixture(kind, () => pgServer!);

      if (kind === 'postgres') {
        before(async function () {
          const reason = postgresMissingReason();
          if (reason) skipSuite(this, `${title} [postgres]`, reason);
          this.timeout(120_000);
          pgServer = await sharedPostgres();
        });
      }
      beforeEach(() => fx.setUp());
      afterEach(() => fx.tearDown());

      body(fx);
    });
  }
}

/** Resolves the error `promise` rejects with; fails when it fulfils. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the store to reject, but it resolved');
}
