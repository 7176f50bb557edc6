import { expect } from 'chai';
import { describeMissed, dueInstants, DUE_KEEP, planFires } from '../../../src/daemon/catch-up.js';
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
  const late = (n: number) => dueInstants(every(MIN), T0, T0 + n * MIN + 5 * MIN, DUE_KEEP);
  const now = (n: number) => T0 + n * MIN + 5 * MIN;

  it('fires an on-time instant normally', () => {
    const due = dueInstants(every(MIN), T0, T0 + MIN + 500, DUE_KEEP);
    expect(planFires(due, 'skip', T0 + MIN + 500, GRACE)).to.deep.equal({
      kind: 'fire',
      instants: [{ at: T0 + MIN, late: false }],
      missed: null,
    });
  });

  it('skip records one missed run for the whole gap and runs nothing', () => {
    const due = dueInstants(every(10 * MIN), T0, T0 + 95 * MIN, DUE_KEEP);
    const plan = planFires(due, 'skip', T0 + 95 * MIN, GRACE);
    expect(plan.kind).to.equal('missed');
    if (plan.kind !== 'missed') return;
    expect(plan.missed).to.include({ count: 9, at: T0 + 90 * MIN, from: T0 + 10 * MIN });
    expect(describeMissed(plan.missed)).to.equal(
      'missed 9 scheduled instants between 2026-11-26T00:10:00.000Z and 2026-11-26T01:30:00.000Z (daemon down or too late)',
    );
  });

  it('skip still fires the instant that is on time, recording the late ones as missed', () => {
    const plan = planFires(late(10), 'skip', now(10), GRACE);
    expect(plan.kind).to.equal('fire');
    if (plan.kind !== 'fire') return;
    expect(plan.instants).to.deep.equal([{ at: now(10), late: false }]);
    expect(plan.missed).to.include({ count: 13, at: now(10) - 2 * MIN });
  });

  it('latest runs once now for the latest missed instant, as a catch-up', () => {
    expect(planFires(late(10), 'latest', now(10), GRACE)).to.deep.equal({
      kind: 'fire',
      instants: [{ at: now(10), late: false }],
      missed: null,
    });
    const due = dueInstants(every(10 * MIN), T0, T0 + 95 * MIN, DUE_KEEP);
    expect(planFires(due, 'latest', T0 + 95 * MIN, GRACE)).to.deep.equal({
      kind: 'fire',
      instants: [{ at: T0 + 90 * MIN, late: true }],
      missed: null,
    });
  });

  it('all replays every missed instant in order', () => {
    const due = dueInstants(every(10 * MIN), T0, T0 + 35 * MIN, DUE_KEEP);
    const plan = planFires(due, 'all', T0 + 35 * MIN, GRACE);
    expect(plan).to.deep.equal({
      kind: 'fire',
      instants: [10, 20, 30].map((m) => ({ at: T0 + m * MIN, late: true })),
      missed: null,
    });
  });

  it('all replays at most 100 and records the older ones as missed', () => {
    const due = dueInstants(every(MIN), T0, T0 + 250 * MIN + 30_000, DUE_KEEP);
    const plan = planFires(due, 'all', T0 + 250 * MIN + 30_000, GRACE);
    expect(plan.kind).to.equal('fire');
    if (plan.kind !== 'fire') return;
    expect(plan.instants).to.have.length(100);
    expect(plan.instants[0]!.at).to.equal(T0 + 151 * MIN);
    expect(plan.instants[99]).to.deep.equal({ at: T0 + 250 * MIN, late: false });
    expect(plan.missed).to.include({ count: 150, at: T0 + 150 * MIN, from: T0 + MIN });
  });
});
