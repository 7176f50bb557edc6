import { expect } from 'chai';
import type { JobDef } from '../../../src/core/types.js';
import {
  describeMissed,
  dueInstants,
  DUE_KEEP,
  planFires,
  type DueInstants,
} from '../../../src/daemon/catch-up.js';
import type { Schedule } from '../../../src/schedule/schedule.js';

const T0 = Date.parse('2026-11-26T00:00:00.000Z');
const MIN = 60_000;
const GRACE = 60_000;

/** Every `step` ms after T0 (a stand-in with exactly known instants). */
function every(step: number): Schedule {
  return { nextAfter: (t) => T0 + (Math.floor((t - T0) / step) + 1) * step, describe: () => `every ${step}` };
}

describe('catch-up: due instants', () => {
  it('lists every instant after the last scheduled one up to now', () => {
    const due = dueInstants(every(MIN), T0, T0 + 3 * MIN, DUE_KEEP);
    expect(due.recent).to.deep.equal([T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN]);
    expect(due.total).to.equal(3);
  });

  it('keeps only the most recent ones but counts them all', () => {
    const due = dueInstants(every(MIN), T0, T0 + 500 * MIN, DUE_KEEP);
    expect(due.recent).to.have.length(DUE_KEEP);
    expect(due.recent[DUE_KEEP - 1]).to.equal(T0 + 500 * MIN);
    expect(due.total).to.equal(500);
    expect(due.first).to.equal(T0 + MIN);
  });

  it('stops counting one by one after a very long outage of a per-second job, still finding the latest', () => {
    const yearOfSeconds = 365 * 24 * 3600 * 1000;
    const due = dueInstants(every(1000), T0, T0 + yearOfSeconds, DUE_KEEP);
    expect(due.countCapped).to.equal(true);
    expect(due.recent[due.recent.length - 1]).to.equal(T0 + yearOfSeconds);
    expect(due.recent).to.have.length(DUE_KEEP);
  });
});

describe('catch-up: plans', () => {
  /** The daemon has been up since long before T0: only --grace makes an instant late. */
  const upLong = T0 - 1000 * MIN;
  const plan = (due: DueInstants, policy: JobDef['catchUp'], now: number, upSince = upLong) =>
    planFires(due, { policy, now, graceMs: GRACE, upSince });
  const late = (n: number) => dueInstants(every(MIN), T0, T0 + n * MIN + 5 * MIN, DUE_KEEP);
  const now = (n: number) => T0 + n * MIN + 5 * MIN;

  it('fires an on-time instant normally', () => {
    const due = dueInstants(every(MIN), T0, T0 + MIN + 500, DUE_KEEP);
    expect(plan(due, 'skip', T0 + MIN + 500)).to.deep.equal({
      fires: [{ at: T0 + MIN, late: false }],
      missed: null,
    });
  });

  it('fires each on-time instant when several are due at once (none coalesced away)', () => {
    const due = dueInstants(every(1000), T0, T0 + 3000, DUE_KEEP);
    expect(plan(due, 'skip', T0 + 3000).fires).to.deep.equal([
      { at: T0 + 1000, late: false },
      { at: T0 + 2000, late: false },
      { at: T0 + 3000, late: false },
    ]);
  });

  it('skip records one missed run for the whole gap and runs nothing', () => {
    const due = dueInstants(every(10 * MIN), T0, T0 + 95 * MIN, DUE_KEEP);
    const p = plan(due, 'skip', T0 + 95 * MIN);
    expect(p.fires).to.deep.equal([]);
    expect(p.missed).to.include({ count: 9, at: T0 + 90 * MIN, from: T0 + 10 * MIN });
    expect(describeMissed(p.missed!)).to.equal(
      'missed 9 scheduled instants between 2026-11-26T00:10:00.000Z and 2026-11-26T01:30:00.000Z (daemon down or too late)',
    );
  });

  it('skip still fires the instants that are on time (at most --grace old), recording the late ones as missed', () => {
    const p = plan(late(10), 'skip', now(10));
    expect(p.fires).to.deep.equal([
      { at: now(10) - MIN, late: false },
      { at: now(10), late: false },
    ]);
    expect(p.missed).to.include({ count: 13, at: now(10) - 2 * MIN, from: T0 + MIN });
  });

  it('latest runs the newest late instant as a catch-up and records the older ones as one missed run', () => {
    const due = dueInstants(every(10 * MIN), T0, T0 + 95 * MIN, DUE_KEEP);
    expect(plan(due, 'latest', T0 + 95 * MIN)).to.deep.equal({
      fires: [{ at: T0 + 90 * MIN, late: true }],
      missed: { at: T0 + 80 * MIN, count: 8, countCapped: false, from: T0 + 10 * MIN, to: T0 + 80 * MIN },
    });
  });

  it('latest with nothing late is an ordinary fire', () => {
    const due = dueInstants(every(MIN), T0, T0 + MIN + 500, DUE_KEEP);
    expect(plan(due, 'latest', T0 + MIN + 500)).to.deep.equal({
      fires: [{ at: T0 + MIN, late: false }],
      missed: null,
    });
  });

  it('all replays every missed instant in order', () => {
    const due = dueInstants(every(10 * MIN), T0, T0 + 35 * MIN, DUE_KEEP);
    expect(plan(due, 'all', T0 + 35 * MIN)).to.deep.equal({
      fires: [10, 20, 30].map((m) => ({ at: T0 + m * MIN, late: true })),
      missed: null,
    });
  });

  it('all replays at most 100 and records the older ones as missed', () => {
    const due = dueInstants(every(MIN), T0, T0 + 250 * MIN + 30_000, DUE_KEEP);
    const p = plan(due, 'all', T0 + 250 * MIN + 30_000);
    expect(p.fires).to.have.length(100);
    expect(p.fires[0]!.at).to.equal(T0 + 151 * MIN);
    expect(p.fires[99]).to.deep.equal({ at: T0 + 250 * MIN, late: false });
    expect(p.missed).to.include({ count: 150, at: T0 + 150 * MIN, from: T0 + MIN });
  });

  describe('a restart: instants that came while the daemon was down are late however recent', () => {
    // Per-second job, last claimed T0, daemon down from just after T0 until T0 + 3.5 s, now T0 + 4.2 s.
    const upSince = T0 + 3500;
    const nowAt = T0 + 4200;
    const due = dueInstants(every(1000), T0, nowAt, DUE_KEEP);

    it('all runs each as a catch-up, then the instant that came after the start on time', () => {
      expect(plan(due, 'all', nowAt, upSince)).to.deep.equal({
        fires: [
          { at: T0 + 1000, late: true },
          { at: T0 + 2000, late: true },
          { at: T0 + 3000, late: true },
          { at: T0 + 4000, late: false },
        ],
        missed: null,
      });
    });

    it('latest runs the newest down-time instant and records the others as one missed run', () => {
      expect(plan(due, 'latest', nowAt, upSince)).to.deep.equal({
        fires: [
          { at: T0 + 3000, late: true },
          { at: T0 + 4000, late: false },
        ],
        missed: { at: T0 + 2000, count: 2, countCapped: false, from: T0 + 1000, to: T0 + 2000 },
      });
    });

    it('skip records one missed run naming the down-time range and runs the on-time one', () => {
      const p = plan(due, 'skip', nowAt, upSince);
      expect(p.fires).to.deep.equal([{ at: T0 + 4000, late: false }]);
      expect(p.missed).to.deep.equal({
        at: T0 + 3000,
        count: 3,
        countCapped: false,
        from: T0 + 1000,
        to: T0 + 3000,
      });
      expect(describeMissed(p.missed!)).to.equal(
        'missed 3 scheduled instants between 2026-11-26T00:00:01.000Z and 2026-11-26T00:00:03.000Z (daemon down or too late)',
      );
    });

    it('one instant missed while down is named on its own', () => {
      const one = dueInstants(every(1000), T0, T0 + 1500, DUE_KEEP);
      const p = plan(one, 'skip', T0 + 1500, T0 + 1200);
      expect(p).to.deep.equal({
        fires: [],
        missed: { at: T0 + 1000, count: 1, countCapped: false, from: T0 + 1000, to: T0 + 1000 },
      });
      expect(describeMissed(p.missed!)).to.equal(
        'missed 1 scheduled instant at 2026-11-26T00:00:01.000Z (daemon down or too late)',
      );
    });
  });

  it('accounts for every instant exactly once, whatever the policy, outage and start time', () => {
    for (const policy of ['skip', 'latest', 'all'] as const) {
      for (const downFor of [0, 1, 2, 5, 99, 100, 101, 102, 250]) {
        for (const upAfter of [0, 30, 90]) {
          const upSince = T0 + downFor * MIN;
          const nowAt = upSince + upAfter * 1000;
          const due = dueInstants(every(MIN), T0, nowAt, DUE_KEEP);
          const p = plan(due, policy, nowAt, upSince);
          const covered = p.fires.map((f) => f.at);
          if (p.missed) {
            for (let t = p.missed.from; t <= p.missed.to; t += MIN) covered.push(t);
            expect(p.missed.count).to.equal((p.missed.to - p.missed.from) / MIN + 1);
          }
          covered.sort((a, b) => a - b);
          const expected = Array.from({ length: due.total }, (_, i) => T0 + (i + 1) * MIN);
          expect(covered, `${policy} down ${downFor} min, up ${upAfter} s`).to.deep.equal(expected);
          expect(p.fires.every((f) => f.late === (f.at <= upSince || nowAt - f.at > GRACE))).to.equal(true);
        }
      }
    }
  });
});
