import BetterSqlite3 from 'better-sqlite3';
import { expect } from 'chai';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { isoUtc } from '../../../src/core/types.js';
import {
  LATEST_SCHEMA_VERSION,
  migrate,
  MIGRATIONS,
  SchemaTooNewError,
} from '../../../src/store/migrations.js';
import { openSqliteStore } from '../../../src/store/sqlite.js';
import { fakeRun, REFERENCE_TIME } from '../../harness/runs.js';
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

  it('two stores on one file (WAL) see each other’s writes and claims', () => {
    const a = temp.open();
    const b = temp.open();
    const run = fakeRun({ status: 'running' });
    const claim = { job: 'backup', scheduledAt: REFERENCE_TIME, advanceTo: REFERENCE_TIME };
    expect(a.claimFire({ ...claim, runs: [{ run, nodeKey: '*' }] })).to.equal(true);
    expect(b.getRun(run.id)).to.deep.equal(run);
    expect(b.claimFire({ ...claim, runs: [{ run: fakeRun({ status: 'running' }), nodeKey: '*' }] })).to.equal(
      false,
    );
    b.enqueueOutbox([{ sink: 'webhook', key: 'k', payload: 1 }]);
    expect(a.outboxBacklog().webhook).to.equal(1);
    b.setEnabledOverride('backup', false);
    expect(a.getJobState('backup')!.enabledOverride).to.equal(false);
  });
});

describe('SQLite store: retention', () => {
  let temp: TempStore;

  beforeEach(() => (temp = new TempStore()));
  afterEach(() => temp.cleanup());

  it('prunes final runs finished before the cutoff in batches, oldest first, with their fire claims', () => {
    const store = temp.open();
    const old = Array.from({ length: 5 }, (_, i) => {
      const at = isoUtc(REFERENCE_TIME + i * 1000);
      return fakeRun({ scheduled_at: at, started_at: at });
    });
    old.forEach((run) =>
      store.claimFire({
        job: run.job,
        scheduledAt: Date.parse(run.scheduled_at!),
        advanceTo: Date.parse(run.scheduled_at!),
        runs: [{ run, nodeKey: '*' }],
      }),
    );
    const runningOld = fakeRun({ status: 'running' });
    const recent = fakeRun({ scheduled_at: isoUtc(REFERENCE_TIME + 86_400_000) });
    store.insertRun(runningOld);
    store.insertRun(recent);
    const cutoff = REFERENCE_TIME + 3_600_000;

    expect(store.pruneRuns(cutoff, 2)).to.equal(2);
    expect(old.map((r) => store.getRun(r.id) !== undefined)).to.deep.equal([false, false, true, true, true]);
    expect(store.pruneRuns(cutoff, 2)).to.equal(2);
    expect(store.pruneRuns(cutoff, 2)).to.equal(1);
    expect(store.pruneRuns(cutoff, 2)).to.equal(0);
    expect(store.getRun(runningOld.id)).to.not.equal(undefined);
    expect(store.getRun(recent.id)).to.not.equal(undefined);
    const claims = withRawDb(temp.path, (db) => db.prepare('SELECT count(*) FROM fire_claims').pluck().get());
    expect(claims).to.equal(0);
  });

  it('keeps the fire claims of pruned runs whose instant is after the cutoff', () => {
    const store = temp.open();
    const future = isoUtc(REFERENCE_TIME + 7_200_000);
    const run = fakeRun({ status: 'missed', scheduled_at: future, finished_at: isoUtc(REFERENCE_TIME) });
    const claim = { job: run.job, scheduledAt: Date.parse(future), advanceTo: Date.parse(future) };
    store.claimFire({ ...claim, runs: [{ run, nodeKey: '*' }] });
    expect(store.pruneRuns(REFERENCE_TIME + 3_600_000, 10)).to.equal(1);
    expect(store.claimFire({ ...claim, runs: [{ run: fakeRun(), nodeKey: '*' }] })).to.equal(false);
  });
});
