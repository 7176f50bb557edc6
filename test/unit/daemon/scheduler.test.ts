import { expect } from 'chai';
import { ManualClock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/log.js';
import type { Millis } from '../../../src/core/types.js';
import type { FirePlan } from '../../../src/daemon/catch-up.js';
import { JobTable, type JobTableStore, type ScheduleBaseline } from '../../../src/daemon/job-table.js';
import { Scheduler, type SchedulerOptions } from '../../../src/daemon/scheduler.js';
import type { Schedule } from '../../../src/schedule/schedule.js';
import { jobDef } from '../../harness/defs.js';

const T0 = Date.parse('2026-11-26T00:00:00.000Z');
const SECOND = 1000;

const everySecond: Schedule = {
  nextAfter: (t) => (Math.floor(t / SECOND) + 1) * SECOND,
  describe: () => 'every second',
};
const KEY = '{"expression":"* * * * * *","kind":"cron"}';
const job = jobDef('tick', { schedule: { kind: 'cron', expression: '* * * * * *' }, catchUp: 'all' });

/** A store for the job table that holds one stored baseline and takes every write. */
function storeWith(stored: ScheduleBaseline | null): JobTableStore {
  return {
    getJobState: async (name) =>
      stored
        ? {
            job: name,
            enabledOverride: null,
            lastStatus: null,
            lastRunId: null,
            lastFinishedAt: null,
            ...stored,
          }
        : undefined,
    getRun: async () => undefined,
    setBaselines: async () => {},
    setLastScheduled: async () => {},
    setEnabledOverride: async () => {},
    forgetBaseline: async () => {},
  };
}

/** The job table with `job` loaded, and the scheduler timing it (as the config applier does). */
async function load(jobs: JobTable, scheduler: Scheduler): Promise<void> {
  await jobs.applyConfig({ upserted: [{ job, schedule: everySecond }], removed: [] });
  scheduler.reschedule([job.name]);
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/** A scheduler whose store refuses the first `failures` claims, as SQLITE_BUSY would. */
async function harness(failures: number) {
  const clock = new ManualClock(T0);
  const lines: { level: number; msg: string }[] = [];
  const logger = createLogger('info', { write: (s: string) => lines.push(JSON.parse(s) as never) });
  const claimed: Millis[] = [];
  const attempts: Millis[] = [];
  let refusals = 0;
  let left = failures;
  const jobs = new JobTable(storeWith(null), clock, []);
  const options: SchedulerOptions = {
    clock,
    logger,
    graceMs: 60_000,
    maxWaitMs: 30_000,
    jobs,
    execute: async (fires) => {
      attempts.push(clock.now());
      if (left-- > 0) throw new Error('SQLITE_BUSY: database is locked');
      claimed.push(...fires.flatMap((f) => f.plan.fires.map((x) => x.at)));
    },
    onClaimError: () => refusals++,
  };
  const scheduler = new Scheduler(options);
  await load(jobs, scheduler);
  scheduler.start();
  const run = async (until: Millis) => {
    while (clock.now() < until) {
      clock.advance(100);
      await settle();
    }
  };
  return { clock, scheduler, claimed, attempts, lines, run, refusals: () => refusals };
}

describe('scheduler: a store that refuses claims', () => {
  it('keeps the instants unclaimed and retries with backoff until the store takes them: each once, none lost', async () => {
    const h = await harness(3);
    await h.run(T0 + 10 * SECOND);
    await h.scheduler.stop();
    expect(h.claimed).to.deep.equal(Array.from({ length: 10 }, (_, i) => T0 + (i + 1) * SECOND));
    // Refused at 1 s, then retried 500 ms, 1 s and 2 s later (doubling); taken at 4.5 s.
    expect(h.attempts.slice(0, 4)).to.deep.equal([T0 + 1000, T0 + 1500, T0 + 2500, T0 + 4500]);
    expect(h.refusals()).to.equal(3);
  });

  it('logs one error per streak of refusals and one line when claims are stored again', async () => {
    const h = await harness(3);
    await h.run(T0 + 6 * SECOND);
    await h.scheduler.stop();
    const messages = h.lines.map((l) => l.msg);
    expect(messages.filter((m) => m.startsWith('could not claim a fire'))).to.have.length(1);
    expect(messages.filter((m) => m === 'claims are stored again')).to.have.length(1);
  });

  it('caps the backoff and lists the real next fire times while a retry is pending', async () => {
    const h = await harness(Infinity);
    await h.run(T0 + 120 * SECOND);
    const gaps = h.attempts.slice(1).map((t, i) => t - h.attempts[i]!);
    expect(Math.max(...gaps)).to.equal(30_000);
    expect(h.claimed).to.deep.equal([]);
    expect(h.scheduler.nextFireTimes('tick', 2)).to.deep.equal([T0 + 121 * SECOND, T0 + 122 * SECOND]);
    await h.scheduler.stop();
  });

  it('stops at once while waiting to retry (the wait is abortable)', async () => {
    const h = await harness(Infinity);
    await h.run(T0 + 1100);
    expect(h.attempts).to.deep.equal([T0 + 1000]);
    await h.scheduler.stop();
    h.clock.advance(60 * SECOND);
    await settle();
    expect(h.attempts).to.deep.equal([T0 + 1000]);
  });
});

describe('scheduler: the daemon start', () => {
  it('instants since the stored one that came before the start are catch-ups, later ones on time', async () => {
    const clock = new ManualClock(T0);
    const jobs = new JobTable(storeWith({ lastScheduledAt: T0 - 3 * SECOND, scheduleKey: KEY }), clock, []);
    const plans: FirePlan[] = [];
    const scheduler = new Scheduler({
      clock,
      logger: createLogger('silent'),
      graceMs: 60_000,
      maxWaitMs: 30_000,
      jobs,
      execute: async (fires) => void plans.push(...fires.map((f) => f.plan)),
    });
    await load(jobs, scheduler);
    clock.advance(500);
    scheduler.start();
    await settle();
    clock.advance(600);
    await settle();
    await scheduler.stop();
    expect(plans.flatMap((p) => p.fires)).to.deep.equal([
      { at: T0 - 2 * SECOND, late: true },
      { at: T0 - SECOND, late: true },
      { at: T0, late: true },
      { at: T0 + SECOND, late: false },
    ]);
    expect(jobs.scheduled('tick')?.last).to.equal(T0 + SECOND);
  });
});

describe('scheduler: a disabled job', () => {
  it('passes its due instants over: nothing fires, and enabled again it fires only new instants', async () => {
    const clock = new ManualClock(T0);
    const jobs = new JobTable(storeWith(null), clock, []);
    const fired: Millis[] = [];
    const scheduler = new Scheduler({
      clock,
      logger: createLogger('silent'),
      graceMs: 60_000,
      maxWaitMs: 30_000,
      jobs,
      execute: async (fires) => void fired.push(...fires.flatMap((f) => f.plan.fires.map((x) => x.at))),
    });
    await load(jobs, scheduler);
    await jobs.setEnabled('tick', false);
    scheduler.start();
    for (let i = 0; i < 30; i++) {
      clock.advance(100);
      await settle();
    }
    expect(fired).to.deep.equal([]);
    expect(jobs.scheduled('tick')?.last).to.equal(T0 + 3 * SECOND);
    await jobs.setEnabled('tick', true);
    for (let i = 0; i < 10; i++) {
      clock.advance(100);
      await settle();
    }
    await scheduler.stop();
    expect(fired).to.deep.equal([T0 + 4 * SECOND]);
  });

  it('a job the config removed is no longer timed', async () => {
    const clock = new ManualClock(T0);
    const jobs = new JobTable(storeWith(null), clock, []);
    const fired: Millis[] = [];
    const scheduler = new Scheduler({
      clock,
      logger: createLogger('silent'),
      graceMs: 60_000,
      maxWaitMs: 30_000,
      jobs,
      execute: async (fires) => void fired.push(...fires.flatMap((f) => f.plan.fires.map((x) => x.at))),
    });
    await load(jobs, scheduler);
    await jobs.applyConfig({ upserted: [], removed: ['tick'] });
    scheduler.reschedule(['tick']);
    scheduler.start();
    clock.advance(3 * SECOND);
    await settle();
    await scheduler.stop();
    expect(fired).to.deep.equal([]);
    expect(scheduler.nextFireTimes('tick', 1)).to.deep.equal([]);
  });
});

describe('scheduler: many jobs due at one tick', () => {
  const names = ['a', 'b', 'c', 'poison'];

  /** Four jobs every second; the store refuses every claim that includes `poison`. */
  async function fourJobs() {
    const clock = new ManualClock(T0);
    const jobs = new JobTable(storeWith(null), clock, []);
    const calls: string[][] = [];
    const claimed = new Map<string, Millis[]>(names.map((n) => [n, []]));
    const scheduler = new Scheduler({
      clock,
      logger: createLogger('silent'),
      graceMs: 60_000,
      maxWaitMs: 30_000,
      jobs,
      execute: async (fires) => {
        calls.push(fires.map((f) => f.job.name));
        if (fires.some((f) => f.job.name === 'poison')) throw new Error('store: a defect in this one claim');
        for (const f of fires) claimed.get(f.job.name)!.push(...f.plan.fires.map((x) => x.at));
      },
    });
    const defs = names.map((n) => jobDef(n, { schedule: job.schedule, catchUp: 'all' }));
    await jobs.applyConfig({ upserted: defs.map((d) => ({ job: d, schedule: everySecond })), removed: [] });
    scheduler.reschedule(names);
    scheduler.start();
    for (let i = 0; i < 40; i++) {
      clock.advance(100);
      await settle();
    }
    await scheduler.stop();
    return { calls, claimed };
  }

  it('claims them together in one call', async () => {
    const { calls } = await fourJobs();
    expect(calls[0]).to.have.members(names);
  });

  it('retries a refused job alone, so one job the store refuses does not hold back the others', async () => {
    const { calls, claimed } = await fourJobs();
    const every = [1, 2, 3, 4].map((s) => T0 + s * SECOND);
    for (const n of ['a', 'b', 'c']) expect(claimed.get(n), n).to.deep.equal(every);
    expect(claimed.get('poison')).to.deep.equal([]);
    const retries = calls.slice(1).filter((c) => c.includes('poison'));
    expect(retries.length).to.be.greaterThan(0);
    for (const call of retries) expect(call).to.deep.equal(['poison']);
  });
});
