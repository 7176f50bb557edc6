import { expect } from 'chai';
import Database from 'better-sqlite3';
import { createLogger } from '../../../src/core/log.js';
import { isoUtc } from '../../../src/core/types.js';
import { RunJournal } from '../../../src/daemon/run-journal.js';
import type { SqliteStore } from '../../../src/store/sqlite.js';
import { SqliteAsyncStore } from '../../../src/store/sqlite-async.js';
import type { OutboxEntry } from '../../../src/store/store.js';
import { fakeRun, finishedRun, REFERENCE_TIME } from '../../harness/runs.js';
import { TempStore } from '../store/temp-store.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const notifyEntry = (id: string): OutboxEntry => ({ sink: 'notify', key: `run:${id}`, payload: { id } });

describe('run journal: the run writes of one event-loop turn in one commit', () => {
  let temp: TempStore;
  let store: SqliteStore;
  let logLines: string[];
  let journal: RunJournal;
  let batches: number;

  beforeEach(() => {
    temp = new TempStore();
    store = temp.open();
    logLines = [];
    const logger = createLogger('debug', { write: (line: string) => void logLines.push(line) });
    batches = 0;
    const batch = store.batchAsync.bind(store);
    store.batchAsync = <T>(writes: () => Promise<T>): Promise<T> => {
      batches++;
      return batch(writes);
    };
    journal = new RunJournal(new SqliteAsyncStore(store), logger);
  });
  afterEach(() => temp.cleanup());

  function insertRunning(count: number) {
    const runs = Array.from({ length: count }, (_, i) =>
      fakeRun({ status: 'running', node: `n${i}`, started_at: null, host: null }),
    );
    for (const run of runs) store.insertRun(run);
    return runs;
  }

  it('stores the starts and finishes queued in one turn together, then tells each finisher', async () => {
    const runs = insertRunning(3);
    const seen: string[] = [];
    const started = { node: 'n0', host: 'h0', started_at: isoUtc(REFERENCE_TIME) };
    journal.markStarted(runs[0]!.id, started);
    for (const run of runs.slice(1)) {
      const done = finishedRun({ ...run, started_at: isoUtc(REFERENCE_TIME) });
      journal.finish(done, [notifyEntry(run.id)], () => seen.push(store.getRun(run.id)!.status));
    }
    expect(store.getRun(runs[1]!.id)!.status).to.equal('running');
    expect(seen).to.deep.equal([]);

    await nextTurn();
    expect(batches).to.equal(1);
    expect(store.getRun(runs[0]!.id)).to.deep.include({ status: 'running', ...started });
    expect(seen).to.deep.equal(['succeeded', 'succeeded']);
    expect(store.outboxBacklog().notify).to.equal(2);
  });

  it('commits at once on flush, and finishNow records its run before resolving', async () => {
    const [a, b] = insertRunning(2);
    journal.finish(finishedRun({ ...a!, started_at: isoUtc(REFERENCE_TIME) }), [], () => undefined);
    await journal.flush();
    expect(store.getRun(a!.id)!.status).to.equal('succeeded');
    let told = false;
    await journal.finishNow(finishedRun(b!, { status: 'error', started_at: null }), [], () => (told = true));
    expect(store.getRun(b!.id)!.status).to.equal('error');
    expect(told).to.equal(true);
    expect(batches).to.equal(2);
  });

  it('writes no separate start for a run that also finishes in the same turn', async () => {
    const [run] = insertRunning(1);
    let starts = 0;
    const markStarted = store.markStarted.bind(store);
    store.markStarted = (...args) => {
      starts++;
      markStarted(...args);
    };
    const startedAt = isoUtc(REFERENCE_TIME);
    journal.markStarted(run!.id, { node: 'n0', host: 'h0', started_at: startedAt });
    journal.finish(finishedRun({ ...run!, host: 'h0', started_at: startedAt }), [], () => undefined);
    await nextTurn();
    expect(starts).to.equal(0);
    expect(store.getRun(run!.id)).to.deep.include({ status: 'succeeded', host: 'h0', started_at: startedAt });
  });

  it('logs a finish that can never be stored, stores the others one by one, and tells only their finishers', async () => {
    const [run] = insertRunning(1);
    const unknown = fakeRun({ status: 'failed' });
    const told: string[] = [];
    journal.finish(unknown, [notifyEntry(unknown.id)], () => told.push('unknown'));
    journal.finish(finishedRun(run!), [notifyEntry(run!.id)], () => told.push('known'));
    await nextTurn();
    expect(told).to.deep.equal(['known']);
    expect(store.getRun(run!.id)!.status).to.equal('succeeded');
    expect(store.getRun(unknown.id)).to.equal(undefined);
    expect(store.outboxBacklog().notify).to.equal(1);
    expect(logLines.join('\n')).to.match(/could not record a finished run; dropped/);
    expect(journal.unstored).to.equal(0);
  });

  it('keeps a finish the store refuses for now (locked), reports nothing, and stores it by retrying', async () => {
    const locked = temp.open({ busyTimeoutMs: 10 });
    const lockedJournal = new RunJournal(new SqliteAsyncStore(locked), createLogger('silent'));
    const [run] = insertRunning(1);
    const blocker = new Database(temp.path);
    blocker.exec('BEGIN IMMEDIATE');
    let told = 0;
    try {
      lockedJournal.finish(finishedRun(run!), [notifyEntry(run!.id)], () => told++);
      await lockedJournal.flush();
      expect(told).to.equal(0);
      expect(lockedJournal.unstored).to.equal(1);
      await lockedJournal.flush();
      expect(told).to.equal(0);
    } finally {
      blocker.exec('ROLLBACK');
      blocker.close();
    }
    expect(await lockedJournal.settle(5_000)).to.equal(0);
    expect(told).to.equal(1);
    expect(store.getRun(run!.id)!.status).to.equal('succeeded');
    expect(store.outboxBacklog().notify).to.equal(1);
  });

  it('retries on its own after a transient failure, in the order the writes were made', async () => {
    const locked = temp.open({ busyTimeoutMs: 10 });
    const lockedJournal = new RunJournal(new SqliteAsyncStore(locked), createLogger('silent'));
    const [a, b] = insertRunning(2);
    const blocker = new Database(temp.path);
    blocker.exec('BEGIN IMMEDIATE');
    const told: string[] = [];
    const startedAt = isoUtc(REFERENCE_TIME);
    lockedJournal.markStarted(a!.id, { node: 'n0', host: 'h0', started_at: startedAt });
    await lockedJournal.flush();
    lockedJournal.finish(finishedRun({ ...a!, host: 'h0', started_at: startedAt }), [], () => told.push('a'));
    lockedJournal.finish(finishedRun(b!), [], () => told.push('b'));
    await lockedJournal.flush();
    blocker.exec('ROLLBACK');
    blocker.close();
    while (lockedJournal.unstored > 0) await new Promise((r) => setTimeout(r, 50));
    expect(told).to.deep.equal(['a', 'b']);
    expect(store.getRun(a!.id)).to.deep.include({ status: 'succeeded', host: 'h0', started_at: startedAt });
  });

  it('writes one by one when the batch commit itself fails', async () => {
    const runs = insertRunning(2);
    const batch = store.batchAsync;
    store.batchAsync = () => {
      store.batchAsync = batch;
      return Promise.reject(new Error('disk I/O error'));
    };
    for (const run of runs) journal.finish(finishedRun(run), [], () => undefined);
    await nextTurn();
    expect(runs.map((r) => store.getRun(r.id)!.status)).to.deep.equal(['succeeded', 'succeeded']);
    expect(logLines.join('\n')).to.match(/batch commit failed; writing one by one/);
  });
});
