import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ManualClock } from '../../../src/core/clock.js';
import type { JobDef, RunRecord } from '../../../src/core/types.js';
import { JobTable, type JobTableStore, type ScheduleBaseline } from '../../../src/daemon/job-table.js';
import type { Schedule } from '../../../src/schedule/schedule.js';
import { openSqliteAsyncStore, type SqliteAsyncStore } from '../../../src/store/sqlite-async.js';
import { jobDef } from '../../harness/defs.js';

const T0 = Date.parse('2026-11-26T00:00:00.000Z');
const SECOND = 1000;
const everySecond: Schedule = {
  nextAfter: (t) => (Math.floor(t / SECOND) + 1) * SECOND,
  describe: () => 'every second',
};
const cron = (expression: string) => ({ kind: 'cron' as const, expression });
const KEY = '{"expression":"* * * * * *","kind":"cron"}';
const tick = jobDef('tick', { schedule: cron('* * * * * *') });
const loaded = (...jobs: JobDef[]) => ({
  upserted: jobs.map((job) => ({ job, schedule: everySecond })),
  removed: [],
});

function finishedRun(job: string, status: RunRecord['status']): RunRecord {
  return {
    id: `${job}-1`,
    execution_id: `${job}-e1`,
    job,
    node: 'n1',
    host: 'h1',
    trigger: 'schedule',
    attempt: 1,
    scheduled_at: '2026-11-26T00:00:00.000Z',
    started_at: '2026-11-26T00:00:00.000Z',
    finished_at: '2026-11-26T00:00:01.000Z',
    duration_ms: 1000,
    status,
    exit_code: 0,
    signal: null,
    stdout: 'out',
    stderr: 'err',
    output_truncated: false,
    error: null,
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** A store that records the table's writes, holds one stored baseline, and can refuse writes. */
function recordingStore(stored: ScheduleBaseline | null = null) {
  const writes: unknown[] = [];
  let refuse = false;
  const write = async (entry: unknown) => {
    await Promise.resolve();
    if (refuse) throw new Error('SQLITE_BUSY: database is locked');
    writes.push(entry);
  };
  const store: JobTableStore = {
    getJobState: async (job) =>
      stored
        ? {
            job,
            enabledOverride: null,
            lastStatus: null,
            lastRunId: null,
            lastFinishedAt: null,
            ...stored,
          }
        : undefined,
    getRun: async () => undefined,
    setBaselines: async (items) => {
      for (const item of items) await write(item);
    },
    setLastScheduled: (job, at) => write({ job, last: at }),
    setEnabledOverride: (job, enabled) => write({ job, enabled }),
    forgetBaseline: (job) => write({ forget: job }),
  };
  return { store, writes, refuse: (on: boolean) => (refuse = on) };
}

function tableWith(stored: ScheduleBaseline | null = null) {
  const clock = new ManualClock(T0);
  const s = recordingStore(stored);
  return { clock, ...s, table: new JobTable(s.store, clock, []) };
}

describe('JobTable: definitions and schedule baselines', () => {
  it('a new job with nothing stored counts from now, and the baseline is stored with its schedule key', async () => {
    const h = tableWith();
    await h.table.applyConfig(loaded(tick));
    expect(h.table.job('tick')).to.equal(tick);
    expect(h.table.scheduled('tick')).to.include({ job: tick, schedule: everySecond, key: KEY, last: T0 });
    expect(h.writes).to.deep.equal([{ job: 'tick', key: KEY, at: T0 }]);
  });

  it('a stored instant counted under the same schedule is kept: the job catches up from it', async () => {
    const h = tableWith({ lastScheduledAt: T0 - 3 * SECOND, scheduleKey: KEY });
    await h.table.applyConfig(loaded(tick));
    expect(h.table.scheduled('tick')?.last).to.equal(T0 - 3 * SECOND);
    expect(h.writes).to.deep.equal([]);
  });

  it('a stored instant counted under another schedule is dropped: the job counts from now', async () => {
    const h = tableWith({ lastScheduledAt: T0 - 3600 * SECOND, scheduleKey: '{"kind":"manual"}' });
    await h.table.applyConfig(loaded(tick));
    expect(h.table.scheduled('tick')?.last).to.equal(T0);
    expect(h.writes).to.deep.equal([{ job: 'tick', key: KEY, at: T0 }]);
  });

  it('a stored instant from before schedule keys existed is kept, and the key recorded', async () => {
    const h = tableWith({ lastScheduledAt: T0 - 5 * SECOND, scheduleKey: null });
    await h.table.applyConfig(loaded(tick));
    expect(h.table.scheduled('tick')?.last).to.equal(T0 - 5 * SECOND);
    expect(h.writes).to.deep.equal([{ job: 'tick', key: KEY, at: null }]);
  });

  it('at start-up the baselines come from the snapshot given, not from a read per job', async () => {
    const h = tableWith({ lastScheduledAt: T0 - 9 * SECOND, scheduleKey: KEY });
    const known = new Map([['tick', { lastScheduledAt: T0 - 2 * SECOND, scheduleKey: KEY }]]);
    await h.table.applyConfig(loaded(tick), known);
    expect(h.table.scheduled('tick')?.last).to.equal(T0 - 2 * SECOND);
  });

  it('an edit restarts the baseline only when the schedule changed; a removal forgets it', async () => {
    const h = tableWith();
    await h.table.applyConfig(loaded(tick));
    h.clock.advance(10 * SECOND);
    await h.table.applyConfig(loaded({ ...tick, command: { kind: 'argv', argv: ['echo'] } }));
    expect(h.table.scheduled('tick')?.last).to.equal(T0);
    await h.table.applyConfig(loaded({ ...tick, schedule: cron('0 * * * *') }));
    expect(h.table.scheduled('tick')?.last).to.equal(T0 + 10 * SECOND);
    await h.table.applyConfig({ upserted: [], removed: ['tick'] });
    expect(h.table.job('tick')).to.equal(undefined);
    expect(h.writes).to.deep.equal([
      { job: 'tick', key: KEY, at: T0 },
      { job: 'tick', key: '{"expression":"0 * * * *","kind":"cron"}', at: T0 + 10 * SECOND },
      { forget: 'tick' },
    ]);
  });

  it('a change the store refuses changes nothing, so the caller can keep the old config and retry', async () => {
    const h = tableWith();
    await h.table.applyConfig(loaded(tick));
    const before = h.table.jobs();
    h.refuse(true);
    const other = jobDef('other', { schedule: cron('* * * * * *') });
    expect((await rejection(h.table.applyConfig({ ...loaded(other), removed: ['tick'] }))).message).to.match(
      /locked/,
    );
    expect(h.table.jobs()).to.equal(before);
    expect(h.table.job('other')).to.equal(undefined);
    expect(h.table.job('tick')).to.equal(tick);
  });

  it('lists jobs in the order they were loaded: an edit keeps its place, a job loaded again goes last', async () => {
    const h = tableWith();
    const [a, b, c] = ['a', 'b', 'c'].map((n) => jobDef(n, { schedule: cron('* * * * * *') }));
    await h.table.applyConfig(loaded(a!, b!, c!));
    const first = h.table.jobs();
    expect(h.table.jobs()).to.equal(first);
    await h.table.applyConfig(loaded({ ...a!, tags: ['x'] }));
    expect(h.table.jobs().map((j) => j.name)).to.deep.equal(['a', 'b', 'c']);
    await h.table.applyConfig({ upserted: [], removed: ['a'] });
    await h.table.applyConfig(loaded(a!));
    expect(h.table.jobs().map((j) => j.name)).to.deep.equal(['b', 'c', 'a']);
  });

  it('at start-up forgets the stored instant of a job deleted while down, not of one whose file fails to load', async () => {
    const h = tableWith();
    await h.table.applyConfig(loaded(tick));
    h.writes.length = 0;
    const at = { lastScheduledAt: T0, scheduleKey: KEY };
    const stored = [
      { job: 'tick', ...at },
      { job: 'gone', ...at },
      { job: 'broken', ...at },
      { job: 'never', lastScheduledAt: null, scheduleKey: null },
    ];
    await h.table.forgetAbsent(stored, new Set(['broken']));
    expect(h.writes).to.deep.equal([{ forget: 'gone' }]);
  });
});

describe('JobTable: fires', () => {
  it('a fire advances the last instant without a write (the claim stored it)', async () => {
    const h = tableWith();
    await h.table.applyConfig(loaded(tick));
    h.writes.length = 0;
    h.table.fired('tick', T0 + 3 * SECOND);
    expect(h.table.scheduled('tick')?.last).to.equal(T0 + 3 * SECOND);
    expect(h.writes).to.deep.equal([]);
  });

  it('passing over a disabled job stores the instant first: a refused write advances nothing', async () => {
    const h = tableWith();
    await h.table.applyConfig(loaded(tick));
    h.writes.length = 0;
    h.refuse(true);
    expect((await rejection(h.table.passOver('tick', T0 + SECOND))).message).to.match(/locked/);
    expect(h.table.scheduled('tick')?.last).to.equal(T0);
    h.refuse(false);
    await h.table.passOver('tick', T0 + 2 * SECOND);
    expect(h.table.scheduled('tick')?.last).to.equal(T0 + 2 * SECOND);
    expect(h.writes).to.deep.equal([{ job: 'tick', last: T0 + 2 * SECOND }]);
  });
});

describe('JobTable: executions in flight', () => {
  it('counts executions running and waiting per job', async () => {
    const { table } = tableWith();
    table.executionStarted('tick');
    table.executionStarted('tick');
    table.queueEntered('tick');
    expect(table.running('tick')).to.equal(2);
    expect(table.isQueued('tick')).to.equal(true);
    expect(table.running('other')).to.equal(0);
    table.queueLeft('tick');
    table.executionEnded('tick');
    expect(table.running('tick')).to.equal(1);
    expect(table.isQueued('tick')).to.equal(false);
  });
});

describe('JobTable: enable overrides and last outcome', () => {
  let dir: string;
  let store: SqliteAsyncStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'distcron-jobtable-'));
    store = openSqliteAsyncStore({ path: join(dir, 'd.db') });
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const clock = () => new ManualClock(T0);

  it('an override persists and outlives a restart; without one a job follows its file', async () => {
    const table = new JobTable(store, clock(), await store.listJobStates());
    expect(table.isEnabled(jobDef('a'))).to.equal(true);
    expect(table.override('a')).to.equal(null);
    await table.setEnabled('a', false);
    expect(table.isEnabled(jobDef('a'))).to.equal(false);

    const restarted = new JobTable(store, clock(), await store.listJobStates());
    expect(restarted.override('a')).to.equal(false);
    expect(restarted.isEnabled(jobDef('a'))).to.equal(false);
    expect(restarted.isEnabled(jobDef('b', { enabled: false }))).to.equal(false);
    expect(restarted.override('b')).to.equal(null);
  });

  it('an override the store refuses does not take effect', async () => {
    const s = recordingStore();
    const table = new JobTable(s.store, clock(), []);
    s.refuse(true);
    expect((await rejection(table.setEnabled('a', false))).message).to.match(/locked/);
    expect(table.override('a')).to.equal(null);
  });

  it('keeps the last finished run without its output, and ignores skipped runs', async () => {
    const table = new JobTable(store, clock(), []);
    expect(table.lastRun('a')).to.equal(null);
    table.runFinished(finishedRun('a', 'succeeded'));
    table.runFinished(finishedRun('a', 'skipped'));
    const last = table.lastRun('a');
    expect(last?.status).to.equal('succeeded');
    expect(last?.stdout).to.equal('');
    expect(last?.stderr).to.equal('');
  });

  it('reads the last run from the store once, when first loaded after a restart', async () => {
    const run = finishedRun('a', 'failed');
    await store.insertRun({ ...run, status: 'running', finished_at: null, duration_ms: null });
    await store.finishRun(run, []);
    const table = new JobTable(store, clock(), await store.listJobStates());
    expect(table.lastRun('a')).to.equal(null);
    await table.loadLastRuns(['a']);
    expect(table.lastRun('a')).to.include({ id: 'a-1', status: 'failed', stdout: '' });
    // A run finishing while a load is under way wins over what the load read.
    const later = { ...finishedRun('b', 'succeeded'), id: 'b-2' };
    const loading = table.loadLastRuns(['b']);
    table.runFinished(later);
    await loading;
    expect(table.lastRun('b')?.id).to.equal('b-2');
  });
});
