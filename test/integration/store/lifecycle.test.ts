import BetterSqlite3 from 'better-sqlite3';
import { expect } from 'chai';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  LATEST_SCHEMA_VERSION,
  migrate,
  MIGRATIONS,
  SchemaTooNewError,
} from '../../../src/store/migrations.js';
import { openSqliteStore } from '../../../src/store/sqlite.js';
import { fakeRun } from '../../harness/runs.js';
import { TempStore } from './temp-store.js';

function withRawDb<T>(path: string, use: (db: BetterSqlite3.Database) => T): T {
  const db = new BetterSqlite3(path);
  try {
    return use(db);
  } finally {
    db.close();
  }
}

describe('SQLite store: file, pragmas and migrations', () => {
  let temp: TempStore;

  beforeEach(() => (temp = new TempStore()));
  afterEach(() => temp.cleanup());

  it('creates the parent directory and opens the file in WAL mode with NORMAL sync and foreign keys', () => {
    const store = temp.open();
    expect(existsSync(temp.path)).to.equal(true);
    const db = (store as unknown as { db: BetterSqlite3.Database }).db;
    expect(db.pragma('journal_mode', { simple: true })).to.equal('wal');
    expect(db.pragma('synchronous', { simple: true })).to.equal(1);
    expect(db.pragma('foreign_keys', { simple: true })).to.equal(1);
    expect(db.pragma('busy_timeout', { simple: true })).to.equal(2000);
  });

  it('records each applied migration and re-opening an up-to-date file applies nothing', () => {
    temp.open().close();
    const before = withRawDb(temp.path, (db) => db.prepare('SELECT * FROM schema_migrations').all());
    expect(before).to.have.length(LATEST_SCHEMA_VERSION);
    temp.open().close();
    withRawDb(temp.path, (db) => {
      expect(db.prepare('SELECT * FROM schema_migrations').all()).to.deep.equal(before);
      expect(migrate(db, temp.path)).to.deep.equal([]);
    });
  });

  it('applies only the pending migrations, each in its own transaction', () => {
    temp.open().close();
    const next = LATEST_SCHEMA_VERSION + 1;
    const migrations = [
      ...MIGRATIONS,
      { version: next, name: 'add a table', sql: 'CREATE TABLE extra (x INTEGER)' },
      { version: next + 1, name: 'broken', sql: 'CREATE TABLE extra (x INTEGER)' },
    ];
    withRawDb(temp.path, (db) => {
      expect(() => migrate(db, temp.path, migrations)).to.throw(
        new RegExp(`store: migration ${next + 1} \\(broken\\).*already exists`),
      );
      const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
      expect(versions).to.deep.equal([...MIGRATIONS.map((m) => m.version), next]);
    });
  });

  it('refuses to open a database written by a newer schema version, saying what to do', () => {
    temp.open().close();
    withRawDb(temp.path, (db) =>
      db
        .prepare("INSERT INTO schema_migrations VALUES (?, 'from the future', 'x')")
        .run(LATEST_SCHEMA_VERSION + 1),
    );
    expect(() => openSqliteStore({ path: temp.path })).to.throw(
      SchemaTooNewError,
      new RegExp(
        `store: .*schema version ${LATEST_SCHEMA_VERSION + 1}, newer than this distcron understands ` +
          `\\(${LATEST_SCHEMA_VERSION}\\).*--db`,
      ),
    );
  });

  it('refuses a foreign database whose tables clash, leaving it unchanged', () => {
    mkdirSync(dirname(temp.path), { recursive: true });
    withRawDb(temp.path, (db) => db.exec('CREATE TABLE runs (x INTEGER)'));
    expect(() => openSqliteStore({ path: temp.path })).to.throw(/store: migration 1 .*is --db pointing/);
    const tables = withRawDb(temp.path, (db) =>
      db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'schema_migrations'")
        .pluck()
        .all(),
    );
    expect(tables).to.deep.equal(['runs']);
  });

  it('close is idempotent and checkpoints the WAL into the main file', () => {
    const store = temp.open();
    store.insertRun(fakeRun());
    store.close();
    store.close();
    expect(existsSync(`${temp.path}-wal`)).to.equal(false);
    withRawDb(temp.path, (db) => expect(db.prepare('SELECT count(*) FROM runs').pluck().get()).to.equal(1));
  });
});
