import BetterSqlite3 from 'better-sqlite3';
import { expect } from 'chai';
import { isoUtc, type RunRecord } from '../../../src/core/types.js';
import { LOST_RUN_ERROR, type SqliteStore } from '../../../src/store/sqlite.js';
import type { OutboxEntry } from '../../../src/store/store.js';
import { fakeRun, finishedRun, REFERENCE_TIME } from '../../harness/runs.js';
import { TempStore } from './temp-store.js';

const SPEC_COLUMNS = [
  'id',
  'execution_id',
  'job',
  'node',
  'host',
  'trigger',
  'attempt',
  'scheduled_at',
  'started_at',
  'finished_at',
  'duration_ms',
  'status',
  'exit_code',
  'signal',
  'stdout',
  'stderr',
  'output_truncated',
  'error',
  'parameters',
  'requested_by',
  'parent_runs',
  'script_sha256',
  'member',
];

function esEntry(run: RunRecord): OutboxEntry {
  return { sink: 'elasticsearch', key: run.id, payload: { run } };
}

describe('SQLite store: runs', () => {
  let temp: TempStore;
  let store: SqliteStore;

  beforeEach(() => {
    temp = new TempStore();
    store = temp.open();
  });
  afterEach(() => temp.cleanup());

  it('lists exactly the SPEC columns of runs, in order, in PRAGMA table_info', () => {
    const db = new BetterSqlite3(temp.path, { readonly: true });
    try {
      const columns = db.pragma('table_info(runs)') as { name: string }[];
      expect(columns.map((c) => c.name)).to.deep.equal(SPEC_COLUMNS);
    } finally {
      db.close();
    }
  });

  it('round-trips every column of a run, nulls and booleans included', () => {
    const full = fakeRun({
      execution_id: 'exec-1',
      trigger: 'catch_up',
      attempt: 3,
      status: 'failed',
      exit_code: 2,
      signal: 'SIGKILL',
      stdout: 'out ✓\n'.repeat(1000),
      stderr: 'err\n',
      output_truncated: true,
      error: 'exit status 2',
    });
    const sparse = fakeRun({
      node: null,
      host: null,
      scheduled_at: null,
      started_at: null,
      status: 'running',
    });
    store.insertRun(full);
    store.insertRun({ ...sparse, started_at: null });
    expect(store.getRun(full.id)).to.deep.equal(full);
    expect(store.getRun(sparse.id)).to.deep.equal({ ...sparse, started_at: null });
  });

  it('round-trips the later columns: parameters and parent runs as JSON text, the rest as text', () => {
    const run = fakeRun({
      parameters: { TARGET: 'db2', NOTE: 'it\'s "quoted" ü' },
      requestedBy: 'ci',
      parentRuns: ['p1', 'p2'],
      scriptSha256: 'ab'.repeat(32),
      member: 'daemon-a',
    });
    store.insertRun(run);
    expect(store.getRun(run.id)).to.deep.equal(run);
    const listed = store.queryRuns({ limit: 10 }).runs.find((r) => r.id === run.id);
    expect(listed).to.deep.include({
      parameters: run.parameters,
      requestedBy: 'ci',
      parentRuns: ['p1', 'p2'],
    });
    const db = new BetterSqlite3(temp.path, { readonly: true });
    try {
      const row = db
        .prepare('SELECT parameters, requested_by, parent_runs FROM runs WHERE id = ?')
        .get(run.id);
      expect(row).to.deep.equal({
        parameters: JSON.stringify(run.parameters),
        requested_by: 'ci',
        parent_runs: '["p1","p2"]',
      });
    } finally {
      db.close();
    }
  });

  it('stores times as ISO-8601 UTC text and output_truncated as integer 0/1', () => {
    const run = fakeRun({ output_truncated: true });
    store.insertRun(run);
    const db = new BetterSqlite3(temp.path, { readonly: true });
    try {
      const row = db
        .prepare(
          'SELECT scheduled_at, typeof(output_truncated) AS t, output_truncated FROM runs WHERE id = ?',
        )
        .get(run.id);
      expect(row).to.deep.equal({
        scheduled_at: '2026-11-26T09:00:00.000Z',
        t: 'integer',
        output_truncated: 1,
      });
    } finally {
      db.close();
    }
  });

  it('stores a fractional duration as whole milliseconds', () => {
    const run = fakeRun({ duration_ms: 1500.6 });
    store.insertRun(run);
    expect(store.getRun(run.id)!.duration_ms).to.equal(1501);
  });

  it('stores any ISO-8601 time in the canonical UTC form with milliseconds', () => {
    const run = fakeRun({ scheduled_at: '2026-11-26T10:00:00+01:00', started_at: '2026-11-26T09:00:01Z' });
    store.insertRun(run);
    expect(store.getRun(run.id)).to.include({
      scheduled_at: '2026-11-26T09:00:00.000Z',
      started_at: '2026-11-26T09:00:01.000Z',
    });
    expect(() => store.insertRun(fakeRun({ finished_at: 'later' }))).to.throw(/store: .*finished_at "later"/);
  });

  it('returns undefined for an unknown run id', () => {
    expect(store.getRun('01NOPE')).to.equal(undefined);
  });

  it('markStarted sets node, host and started_at of a queued run', () => {
    const run = fakeRun({ status: 'running', node: null, host: null, started_at: null });
    store.insertRun({ ...run, started_at: null });
    store.markStarted(run.id, { node: 'web2', host: '10.0.0.9', started_at: '2026-11-26T09:01:00.000Z' });
    expect(store.getRun(run.id)).to.include({
      node: 'web2',
      host: '10.0.0.9',
      started_at: '2026-11-26T09:01:00.000Z',
    });
    const started = { node: null, host: null, started_at: '2026-11-26T09:01:00Z' };
    expect(() => store.markStarted('missing', started)).to.throw(/store: .*does not exist/);
    expect(() => store.markStarted(run.id, { ...started, started_at: 'soon' })).to.throw(/store: .*ISO-8601/);
  });

  it('finishRun writes the run, its outbox entries and the job state together', () => {
    const run = fakeRun({ status: 'running' });
    store.insertRun(run);
    const done = finishedRun(run, { status: 'failed', exit_code: 1, stderr: 'boom' });
    store.finishRun(done, [esEntry(done), { sink: 'notify', key: `run:${done.id}`, payload: { k: 1 } }]);

    expect(store.getRun(run.id)).to.deep.equal(done);
    expect(store.getJobState('backup')).to.deep.include({
      lastStatus: 'failed',
      lastRunId: run.id,
      lastFinishedAt: Date.parse(done.finished_at!),
    });
    expect(store.outboxBacklog()).to.deep.equal({ elasticsearch: 1, notify: 1, email: 0, webhook: 0 });
  });

  it('finishRun writes nothing when any part fails', () => {
    const run = fakeRun({ status: 'running' });
    store.insertRun(run);
    const done = finishedRun(run, { status: 'failed' });
    const unserializable = { sink: 'notify', key: 'bad', payload: { n: 1n } } as OutboxEntry;
    expect(() => store.finishRun(done, [esEntry(done), unserializable])).to.throw();
    expect(store.getRun(run.id)!.status).to.equal('running');
    expect(store.getJobState('backup')).to.equal(undefined);
    expect(store.outboxBacklog().elasticsearch).to.equal(0);
  });

  it('finishRun refuses a non-final status and an unknown run', () => {
    const run = fakeRun({ status: 'running' });
    expect(() => store.finishRun(run, [])).to.throw(/final status/);
    expect(() => store.finishRun(finishedRun(run), [])).to.throw(/does not exist/);
  });

  it('markRunningAsLost turns every running run into lost with its outbox entries, returning them', () => {
    const a = fakeRun({ status: 'running', started_at: isoUtc(REFERENCE_TIME) });
    const b = fakeRun({ status: 'running', job: 'rotate', started_at: null });
    const done = fakeRun({ status: 'succeeded' });
    for (const run of [a, b, done]) store.insertRun(run);
    const now = REFERENCE_TIME + 60_000;

    const lost = store.markRunningAsLost(now, (run) => [esEntry(run)]);

    expect(lost.map((r) => r.id)).to.deep.equal([a.id, b.id]);
    expect(store.getRun(a.id)).to.deep.include({
      status: 'lost',
      finished_at: isoUtc(now),
      duration_ms: 60_000,
      error: LOST_RUN_ERROR,
    });
    expect(store.getRun(b.id)).to.deep.include({ status: 'lost', duration_ms: null });
    expect(store.getRun(done.id)!.status).to.equal('succeeded');
    const queued = store.takeOutbox('elasticsearch', 10, now);
    expect(queued.map((i) => (i.payload as { run: RunRecord }).run.status)).to.deep.equal(['lost', 'lost']);
    expect(store.getJobState('rotate')!.lastStatus).to.equal('lost');
    expect(store.countRunning()).to.equal(0);
    expect(store.markRunningAsLost(now, () => [])).to.deep.equal([]);
  });

  it('counts running runs overall and per job', () => {
    store.insertRun(fakeRun({ status: 'running', job: 'a' }));
    store.insertRun(fakeRun({ status: 'running', job: 'a' }));
    store.insertRun(fakeRun({ status: 'running', job: 'b' }));
    store.insertRun(fakeRun({ status: 'failed', job: 'a' }));
    expect(store.countRunning()).to.equal(3);
    expect(store.countRunning('a')).to.equal(2);
    expect(store.countRunning('zzz')).to.equal(0);
  });

  it('setBaselines sets instant and schedule key, and with no instant keeps the stored one', () => {
    store.setLastScheduled('known', REFERENCE_TIME - 60_000);
    store.setLastScheduled('moved', REFERENCE_TIME - 60_000);
    store.setBaselines([
      { job: 'known', key: 'k1', at: null },
      { job: 'moved', key: 'k2', at: REFERENCE_TIME },
      { job: 'new-a', key: 'k3', at: REFERENCE_TIME },
    ]);
    const states = store.listJobStates().map((s) => [s.job, s.lastScheduledAt, s.scheduleKey]);
    expect(states).to.deep.equal([
      ['known', REFERENCE_TIME - 60_000, 'k1'],
      ['moved', REFERENCE_TIME, 'k2'],
      ['new-a', REFERENCE_TIME, 'k3'],
    ]);
  });

  it('setBaselines takes many names at once, any characters included, each once', () => {
    const names = Array.from({ length: 25_000 }, (_, i) => `job-${i}`);
    names.push('quote"and\\backslash', 'ümlaut-🎉', '123', 'job-7');
    store.setBaselines(names.map((job) => ({ job, key: '{"kind":"manual"}', at: REFERENCE_TIME })));
    const states = store.listJobStates();
    expect(states).to.have.length(25_003);
    expect(states.every((s) => s.lastScheduledAt === REFERENCE_TIME)).to.equal(true);
    expect(states.map((s) => s.job)).to.include.members(['quote"and\\backslash', 'ümlaut-🎉', '123']);
  });

  it('setBaselines keeps the enable override; forgetBaseline drops instant and key only', () => {
    store.setEnabledOverride('paused', false);
    store.setBaselines([{ job: 'paused', key: 'k', at: REFERENCE_TIME }]);
    expect(store.getJobState('paused')).to.include({
      lastScheduledAt: REFERENCE_TIME,
      enabledOverride: false,
    });
    store.forgetBaseline('paused');
    expect(store.getJobState('paused')).to.include({
      lastScheduledAt: null,
      scheduleKey: null,
      enabledOverride: false,
    });
  });

  it('keeps the enable override and the last scheduled instant per job', () => {
    store.setEnabledOverride('backup', false);
    store.setLastScheduled('backup', REFERENCE_TIME);
    expect(store.getJobState('backup')).to.deep.equal({
      job: 'backup',
      lastScheduledAt: REFERENCE_TIME,
      enabledOverride: false,
      lastStatus: null,
      lastRunId: null,
      lastFinishedAt: null,
      scheduleKey: null,
    });
    store.setEnabledOverride('backup', null);
    store.setEnabledOverride('alpha', true);
    expect(store.listJobStates().map((s) => [s.job, s.enabledOverride])).to.deep.equal([
      ['alpha', true],
      ['backup', null],
    ]);
  });
});
