import { expect } from 'chai';
import type { ScheduleSpec } from '../../../src/core/types.js';
import { compile, fires } from './fires.js';

const DAY_START = Date.parse('2026-11-26T00:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NAMES = Array.from({ length: 10_000 }, (_, i) => `job-${i}`);

function firstFires(spec: ScheduleSpec, names: string[], from = DAY_START): Date[] {
  return names.map((name) => new Date(compile(spec, name).nextAfter(from)!));
}

/** Pearson's chi-square statistic of `counts` against a uniform distribution. */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}

function localHour(at: Date, timeZone: string): number {
  return Number(new Intl.DateTimeFormat('en-GB', { timeZone, hour: 'numeric', hourCycle: 'h23' }).format(at));
}

describe('schedule: fuzzy', () => {
  it('spreads 10,000 daily jobs uniformly over the 24 hours (chi-square, p > 0.01)', () => {
    const buckets = new Array<number>(24).fill(0);
    for (const at of firstFires({ kind: 'fuzzy', period: 'daily' }, NAMES)) buckets[at.getUTCHours()]!++;
    // Critical value of chi-square with 23 degrees of freedom at p = 0.01.
    expect(chiSquare(buckets)).to.be.below(41.64);
    expect(Math.min(...buckets)).to.be.greaterThan(0);
  });

  it('spreads weekly jobs uniformly over the weekdays (chi-square, 6 degrees of freedom, p > 0.01)', () => {
    const days = new Array<number>(7).fill(0);
    for (const at of firstFires({ kind: 'fuzzy', period: 'weekly' }, NAMES.slice(0, 7000)))
      days[at.getUTCDay()]!++;
    expect(chiSquare(days)).to.be.below(16.81);
  });

  it('gives a job the same time in every compile', () => {
    const spec: ScheduleSpec = { kind: 'fuzzy', period: 'daily' };
    expect(compile(spec, 'backup-db').nextAfter(DAY_START)).to.equal(
      compile(spec, 'backup-db').nextAfter(DAY_START),
    );
    // Hard-coded: a change here moves every fuzzy job in every deployment.
    expect(compile(spec, 'backup-db').describe()).to.equal('fuzzy daily (UTC): 19:33:45');
    expect(compile(spec, 'backup-db').nextAfter(DAY_START)).to.equal(Date.parse('2026-11-26T19:33:45Z'));
  });

  it('fires exactly once per day, 24 hours apart, in UTC', () => {
    const list = fires(
      compile({ kind: 'fuzzy', period: 'daily' }, 'job-7'),
      '2026-11-01T00:00:00Z',
      '2026-11-11T00:00:00Z',
    );
    expect(list).to.have.length(10);
    for (let i = 1; i < list.length; i++)
      expect(Date.parse(list[i]!) - Date.parse(list[i - 1]!)).to.equal(DAY);
  });

  it('keeps windowed jobs inside the window and spreads them over it', () => {
    const spec: ScheduleSpec = { kind: 'fuzzy', period: 'daily', window: { start: '01:00', end: '05:00' } };
    const hours = firstFires(spec, NAMES.slice(0, 2000)).map(
      (at) => at.getUTCHours() + at.getUTCMinutes() / 60,
    );
    for (const h of hours) expect(h).to.be.at.least(1).and.below(5);
    expect(Math.min(...hours)).to.be.below(1.1);
    expect(Math.max(...hours)).to.be.above(4.9);
  });

  it('keeps jobs inside a window that wraps midnight (22:00-02:00), on both sides of it', () => {
    const spec: ScheduleSpec = { kind: 'fuzzy', period: 'daily', window: { start: '22:00', end: '02:00' } };
    const hours = new Set(firstFires(spec, NAMES.slice(0, 2000)).map((at) => at.getUTCHours()));
    expect([...hours].sort((a, b) => a - b)).to.deep.equal([0, 1, 22, 23]);
  });

  it('reads the window in the schedule timezone', () => {
    const spec: ScheduleSpec = {
      kind: 'fuzzy',
      period: 'daily',
      window: { start: '01:00', end: '05:00' },
      timezone: 'America/New_York',
    };
    for (const at of firstFires(spec, NAMES.slice(0, 300)))
      expect(localHour(at, 'America/New_York')).to.be.within(1, 4);
  });

  it('fires once on the spring-forward day even when its time falls into the skipped hour', () => {
    const spec: ScheduleSpec = {
      kind: 'fuzzy',
      period: 'daily',
      window: { start: '02:00', end: '03:00' },
      timezone: 'Europe/Berlin',
    };
    for (const name of NAMES.slice(0, 50)) {
      const list = fires(compile(spec, name), '2026-03-28T12:00:00Z', '2026-03-29T12:00:00Z');
      expect(list).to.deep.equal(['2026-03-29T01:00:00.000Z']);
    }
  });

  it('fires once on the fall-back day even when its time is repeated', () => {
    const spec: ScheduleSpec = {
      kind: 'fuzzy',
      period: 'daily',
      window: { start: '02:00', end: '03:00' },
      timezone: 'Europe/Berlin',
    };
    for (const name of NAMES.slice(0, 50)) {
      const list = fires(compile(spec, name), '2026-10-24T12:00:00Z', '2026-10-25T12:00:00Z');
      expect(list).to.have.length(1);
      expect(Date.parse(list[0]!)).to.be.within(
        Date.parse('2026-10-25T00:00:00Z'),
        Date.parse('2026-10-25T01:00:00Z'),
      );
    }
  });

  it('fires a weekly job once a week, 7 days apart', () => {
    const list = fires(
      compile({ kind: 'fuzzy', period: 'weekly' }, 'job-3'),
      '2026-11-01T00:00:00Z',
      '2026-12-06T00:00:00Z',
    );
    expect(list).to.have.length(5);
    for (let i = 1; i < list.length; i++)
      expect(Date.parse(list[i]!) - Date.parse(list[i - 1]!)).to.equal(7 * DAY);
  });

  it('fires an hourly job once per real hour at the same minute and second', () => {
    const list = fires(
      compile({ kind: 'fuzzy', period: 'hourly' }, 'job-3'),
      '2026-11-26T00:00:00Z',
      '2026-11-27T00:00:00Z',
    );
    expect(list).to.have.length(24);
    for (let i = 1; i < list.length; i++)
      expect(Date.parse(list[i]!) - Date.parse(list[i - 1]!)).to.equal(HOUR);
  });

  it('fires a duration-period job once per period', () => {
    const list = fires(
      compile({ kind: 'fuzzy', period: { everyMs: 6 * HOUR } }, 'job-3'),
      '2026-11-26T00:00:00Z',
      '2026-11-27T00:00:00Z',
    );
    expect(list).to.have.length(4);
    for (let i = 1; i < list.length; i++)
      expect(Date.parse(list[i]!) - Date.parse(list[i - 1]!)).to.equal(6 * HOUR);
  });

  it('fires an hourly job with a window only inside the window', () => {
    const spec: ScheduleSpec = { kind: 'fuzzy', period: 'hourly', window: { start: '09:00', end: '12:00' } };
    for (const name of NAMES.slice(0, 50)) {
      const list = fires(compile(spec, name), '2026-11-26T00:00:00Z', '2026-11-27T00:00:00Z');
      expect(list.map((iso) => new Date(iso).getUTCHours())).to.deep.equal([9, 10, 11]);
    }
  });
});
