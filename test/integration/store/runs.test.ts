import { expect } from 'chai';
import { isoUtc, type RunRecord } from '../../../src/core/types.js';
import type { AsyncStore } from '../../../src/store/async-store.js';
import { LOST_RUN_ERROR, type OutboxEntry } from '../../../src/store/store.js';
import { fakeRun, finishedRun, REFERENCE_TIME } from '../../harness/runs.js';
import { describeStores, rejection, type StoreFixture } from './stores.js';

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

/** The `runs` column names in table order, from the database's own catalogue. */
async function runColumns(fx: StoreFixture): Promise<string[]> {
  const rows =
    fx.kind === 'sqlite'
      ? await fx.sql("SELECT name FROM pragma_table_info('runs') ORDER BY cid")
      : await fx.sql(
          "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'runs' ORDER BY ordinal_position",
        );
  return rows.map((r) => r.name as string);
}

describeStores('store: runs', (fx) => {
  let store: AsyncStore;

  beforeEach(async () => (store = await fx.open()));

  it('stores several starts and finishes in one call each, a job’s outcome being its last run there', async () => {
    const [a, b, c] = [
      fakeRun({ status: 'running' }),
      fakeRun({ status: 'running' }),
      fakeRun({ status: 'running' }),
    ];
    for (const run of [a!, b!, c!]) await store.insertRun({ ...run, started_at: null });
    const started = { node: 'db1', host: 'db1.example', started_at: a!.started_at! };
    await store.markStartedMany([a!, b!, c!].map((r) => ({ id: r.id, fields: started })));
    expect((await store.getRun(c!.id))!.host).to.equal('db1.example');
    const failed = finishedRun(a!, { status: 'failed' });
    await store.finishRuns([
      { run: failed, outbox: [esEntry(failed)] },
      { run: finishedRun(b!), outbox: [] },
    ]);
    expect((await store.getRun(a!.id))!.status).to.equal('failed');
    expect(await store.getJobState('backup')).to.deep.include({ lastRunId: b!.id, lastStatus: 'succeeded' });
    expect((await store.outboxBacklog()).elasticsearch).to.equal(1);
    expect(await store.countRunning()).to.equal(1);
  });

  it('names the run that does not exist when several starts or finishes are stored', async () => {
    const ghost = fakeRun({ status: 'running' });
    const fields = { node: 'db1', host: 'db1', started_at: ghost.started_at! };
    expect((await rejection(store.markStartedMany([{ id: ghost.id, fields }]))).message).to.match(
      new RegExp(`run ${ghost.id} does not exist`),
    );
    expect((await rejection(store.finishRuns([{ run: finishedRun(ghost), outbox: [] }]))).message).to.match(
      new RegExp(`run ${ghost.id} does not exist`),
    );
  });

  it('lists exactly the SPEC columns of runs, in order, in the catalogue', async () => {
    expect(await runColumns(fx)).to.deep.equal(SPEC_COLUMNS);
  });

  it('round-trips every column of a run, nulls and booleans included', async () => {
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
    await store.insertRun(full);
    await store.insertRun({ ...sparse, started_at: null });
    expect(await store.getRun(full.id)).to.deep.equal(full);
    expect(await store.getRun(sparse.id)).to.deep.equal({ ...sparse, started_at: null });
  });

  it('round-trips the later columns: parameters and parent runs as JSON text, the rest as text', async () => {
    const run = fakeRun({
      parameters: { TARGET: 'db2', NOTE: 'it\'s "quoted" ü' },
      requestedBy: 'ci',
      parentRuns: ['p1', 'p2'],
      scriptSha256: 'ab'.repeat(32),
      member: 'daemon-a',
    });
    await store.insertRun(run);
    expect(await store.getRun(run.id)).to.deep.equal(run);
    const listed = (await store.queryRuns({ limit: 10 })).runs.find((r) => r.id === run.id);
    expect(listed).to.deep.include({
      parameters: run.parameters,
      requestedBy: 'ci',
      parentRuns: ['p1', 'p2'],
    });
    const rows = await fx.sql(
      `SELECT parameters, requested_by, parent_runs FROM runs WHERE id = '${run.id}'`,
    );
    expect(rows).to.deep.equal([
      { parameters: JSON.stringify(run.parameters), requested_by: 'ci', parent_runs: '["p1","p2"]' },
    ]);
  });

  it('stores times as ISO-8601 UTC text and output_truncated as 0/1 (SQLite) or a boolean (PostgreSQL)', async () => {
    const run = fakeRun({ output_truncated: true });
    await store.insertRun(run);
    const rows = await fx.sql(`SELECT scheduled_at, output_truncated FROM runs WHERE id = '${run.id}'`);
    const truncated = fx.kind === 'sqlite' ? 1 : true;
    expect(rows).to.deep.equal([{ scheduled_at: '2026-11-26T09:00:00.000Z', output_truncated: truncated }]);
  });

  it('stores a fractional duration as whole milliseconds', async () => {
    const run = fakeRun({ duration_ms: 1500.6 });
    await store.insertRun(run);
    expect((await store.getRun(run.id))!.duration_ms).to.equal(1501);
  });

  it('stores any ISO-8601 time in the canonical UTC form with milliseconds', async () => {
    const run = fakeRun({ scheduled_at: '2026-11-26T10:00:00+01:00', started_at: '2026-11-26T09:00:01Z' });
    await store.insertRun(run);
    expect(await store.getRun(run.id)).to.include({
      scheduled_at: '2026-11-26T09:00:00.000Z',
      started_at: '2026-11-26T09:00:01.000Z',
    });
    const err = await rejection(store.insertRun(fakeRun({ finished_at: 'later' })));
    expect(err.message).to.match(/store: .*finished_at "later"/);
  });

  it('returns undefined for an unknown run id', async () => {
    expect(await store.getRun('01NOPE')).to.equal(undefined);
  });

  it('markStarted sets node, host and started_at of a queued run', async () => {
    const run = fakeRun({ status: 'running', node: null, host: null, started_at: null });
    await store.insertRun({ ...run, started_at: null });
    await store.markStarted(run.id, {
      node: 'web2',
      host: '10.0.0.9',
      started_at: '2026-11-26T09:01:00.000Z',
    });
    expect(await store.getRun(run.id)).to.include({
      node: 'web2',
      host: '10.0.0.9',
      started_at: '2026-11-26T09:01:00.000Z',
    });
    const started = { node: null, host: null, started_at: '2026-11-26T09:01:00Z' };
    expect((await rejection(store.markStarted('missing', started))).message).to.match(
      /store: .*does not exist/,
    );
    const bad = store.markStarted(run.id, { ...started, started_at: 'soon' });
    expect((await rejection(bad)).message).to.match(/store: .*ISO-8601/);
  });

  it('finishRun writes the run, its outbox entries and the job state together', async () => {
    const run = fakeRun({ status: 'running' });
    await store.insertRun(run);
    const done = finishedRun(run, { status: 'failed', exit_code: 1, stderr: 'boom' });
    await store.finishRun(done, [
      esEntry(done),
      { sink: 'notify', key: `run:${done.id}`, payload: { k: 1 } },
    ]);

    expect(await store.getRun(run.id)).to.deep.equal(done);
    expect(await store.getJobState('backup')).to.deep.include({
      lastStatus: 'failed',
      lastRunId: run.id,
      lastFinishedAt: Date.parse(done.finished_at!),
    });
    expect(await store.outboxBacklog()).to.deep.equal({ elasticsearch: 1, notify: 1, email: 0, webhook: 0 });
  });

  it('finishRun writes nothing when any part fails', async () => {
    const run = fakeRun({ status: 'running' });
    await store.insertRun(run);
    const done = finishedRun(run, { status: 'failed' });
    const unserializable = { sink: 'notify', key: 'bad', payload: { n: 1n } } as OutboxEntry;
    await rejection(store.finishRun(done, [esEntry(done), unserializable]));
    expect((await store.getRun(run.id))!.status).to.equal('running');
    expect(await store.getJobState('backup')).to.equal(undefined);
    expect((await store.outboxBacklog()).elasticsearch).to.equal(0);
  });

  it('finishRun refuses a non-final status and an unknown run', async () => {
    const run = fakeRun({ status: 'running' });
    expect((await rejection(store.finishRun(run, []))).message).to.match(/final status/);
    expect((await rejection(store.finishRun(finishedRun(run), []))).message).to.match(/does not exist/);
  });

  it('finishing a run keeps the job, execution, trigger, attempt and instant it was inserted with', async () => {
    const run = fakeRun({ status: 'running', trigger: 'retry', attempt: 2 });
    await store.insertRun(run);
    const done = finishedRun(run, { status: 'failed', exit_code: 3, node: 'db9', host: '10.0.0.9' });
    await store.finishRun(
      { ...done, job: 'other', execution_id: 'other', trigger: 'manual', attempt: 7 },
      [],
    );
    expect(await store.getRun(run.id)).to.deep.equal(done);
  });

  it('markRunningAsLost turns every running run into lost with its outbox entries, returning them', async () => {
    const a = fakeRun({ status: 'running', started_at: isoUtc(REFERENCE_TIME) });
    const b = fakeRun({ status: 'running', job: 'rotate', started_at: null });
    const done = fakeRun({ status: 'succeeded' });
    for (const run of [a, b, done]) await store.insertRun(run);
    const now = REFERENCE_TIME + 60_000;

    const lost = await store.markRunningAsLost(now, (run) => [esEntry(run)]);

    expect(lost.map((r) => r.id)).to.deep.equal([a.id, b.id]);
    expect(await store.getRun(a.id)).to.deep.include({
      status: 'lost',
      finished_at: isoUtc(now),
      duration_ms: 60_000,
      error: LOST_RUN_ERROR,
    });
    expect(await store.getRun(b.id)).to.deep.include({ status: 'lost', duration_ms: null });
    expect((await store.getRun(done.id))!.status).to.equal('succeeded');
    const queued = await store.takeOutbox('elasticsearch', 10, now);
    expect(queued.map((i) => (i.payload as { run: RunRecord }).run.status)).to.deep.equal(['lost', 'lost']);
    expect((await store.getJobState('rotate'))!.lastStatus).to.equal('lost');
    expect(await store.countRunning()).to.equal(0);
    expect(await store.markRunningAsLost(now, () => [])).to.deep.equal([]);
  });

  it('counts running runs overall and per job', async () => {
    await store.insertRun(fakeRun({ status: 'running', job: 'a' }));
    await store.insertRun(fakeRun({ status: 'running', job: 'a' }));
    await store.insertRun(fakeRun({ status: 'running', job: 'b' }));
    await store.insertRun(fakeRun({ status: 'failed', job: 'a' }));
    expect(await store.countRunning()).to.equal(3);
    expect(await store.countRunning('a')).to.equal(2);
    expect(await store.countRunning('zzz')).to.equal(0);
  });

  it('setBaselines sets instant and schedule key, and with no instant keeps the stored one', async () => {
    await store.setLastScheduled('known', REFERENCE_TIME - 60_000);
    await store.setLastScheduled('moved', REFERENCE_TIME - 60_000);
    await store.setBaselines([
      { job: 'known', key: 'k1', at: null },
      { job: 'moved', key: 'k2', at: REFERENCE_TIME },
      { job: 'new-a', key: 'k3', at: REFERENCE_TIME },
    ]);
    const states = (await store.listJobStates()).map((s) => [s.job, s.lastScheduledAt, s.scheduleKey]);
    expect(states).to.deep.equal([
      ['known', REFERENCE_TIME - 60_000, 'k1'],
      ['moved', REFERENCE_TIME, 'k2'],
      ['new-a', REFERENCE_TIME, 'k3'],
    ]);
  });

  it('setBaselines takes many names at once, any characters included, each once', async () => {
    const names = Array.from({ length: 25_000 }, (_, i) => `job-${i}`);
    names.push('quote"and\\backslash', 'ümlaut-🎉', '123', 'job-7');
    await store.setBaselines(names.map((job) => ({ job, key: '{"kind":"manual"}', at: REFERENCE_TIME })));
    const states = await store.listJobStates();
    expect(states).to.have.length(25_003);
    expect(states.every((s) => s.lastScheduledAt === REFERENCE_TIME)).to.equal(true);
    expect(states.map((s) => s.job)).to.include.members(['quote"and\\backslash', 'ümlaut-🎉', '123']);
  });

  it('setBaselines keeps the enable override; forgetBaseline drops instant and key only', async () => {
    await store.setEnabledOverride('paused', false);
    await store.setBaselines([{ job: 'paused', key: 'k', at: REFERENCE_TIME }]);
    expect(await store.getJobState('paused')).to.include({
      lastScheduledAt: REFERENCE_TIME,
      enabledOverride: false,
    });
    await store.forgetBaseline('paused');
    expect(await store.getJobState('paused')).to.include({
      lastScheduledAt: null,
      scheduleKey: null,
      enabledOverride: false,
    });
  });

  it('keeps the enable override and the last scheduled instant per job', async () => {
    await store.setEnabledOverride('backup', false);
    await store.setLastScheduled('backup', REFERENCE_TIME);
    expect(await store.getJobState('backup')).to.deep.equal({
      job: 'backup',
      lastScheduledAt: REFERENCE_TIME,
      enabledOverride: false,
      lastStatus: null,
      lastRunId: null,
      lastFinishedAt: null,
      scheduleKey: null,
    });
    await store.setEnabledOverride('backup', null);
    await store.setEnabledOverride('alpha', true);
    expect((await store.listJobStates()).map((s) => [s.job, s.enabledOverride])).to.deep.equal([
      ['alpha', true],
      ['backup', null],
    ]);
  });

  it('lists job states in byte order of their names, as SQLite does', async () => {
    for (const job of ['b', 'B', 'a', '_x', 'Ä']) await store.setEnabledOverride(job, true);
    expect((await store.listJobStates()).map((s) => s.job)).to.deep.equal(['B', '_x', 'a', 'b', 'Ä']);
  });
});
