import { expect } from 'chai';
import fc from 'fast-check';
import { compile } from './fires.js';

/** Day matching (Vixie OR / AND, month lengths, leap days) against a day-by-day brute force in UTC. */

const DAY = 86_400_000;

interface DayFields {
  dom: number[] | 'star' | 'step';
  month: number[] | 'star';
  dow: number[] | 'star';
}

function render(f: DayFields): string {
  const dom = f.dom === 'star' ? '*' : f.dom === 'step' ? '*/10' : f.dom.join(',');
  const month = f.month === 'star' ? '*' : f.month.join(',');
  const dow = f.dow === 'star' ? '*' : f.dow.join(',');
  return `15 6 ${dom} ${month} ${dow}`;
}

function dayMatches(f: DayFields, d: Date): boolean {
  const domValues = f.dom === 'step' ? [1, 11, 21, 31] : f.dom;
  const domOk = domValues === 'star' || domValues.includes(d.getUTCDate());
  const dowOk = f.dow === 'star' || f.dow.includes(d.getUTCDay());
  const monthOk = f.month === 'star' || f.month.includes(d.getUTCMonth() + 1);
  const bothRestricted = Array.isArray(f.dom) && f.dow !== 'star';
  return monthOk && (bothRestricted ? domOk || dowOk : domOk && dowOk);
}

const list = (min: number, max: number) =>
  fc
    .uniqueArray(fc.integer({ min, max }), { minLength: 1, maxLength: 3 })
    .map((v) => v.sort((a, b) => a - b));
const fieldsArb: fc.Arbitrary<DayFields> = fc.record({
  dom: fc.oneof(fc.constant<'star'>('star'), fc.constant<'step'>('step'), list(1, 31)),
  month: fc.oneof(fc.constant<'star'>('star'), list(1, 12)),
  dow: fc.oneof(fc.constant<'star'>('star'), list(0, 6)),
});

describe('schedule: cron day fields against a day-by-day brute force', () => {
  it('agrees on every fire over four years including a leap day', () => {
    const from = Date.parse('2027-01-01T00:00:00Z');
    const to = Date.parse('2031-01-01T00:00:00Z');
    fc.assert(
      fc.property(fieldsArb, (f) => {
        const expected: number[] = [];
        for (let day = from; day < to; day += DAY)
          if (dayMatches(f, new Date(day))) expected.push(day + 6 * 3_600_000 + 15 * 60_000);
        const schedule = compile(render(f));
        const walked: number[] = [];
        for (let t = schedule.nextAfter(from); t !== null && t < to; t = schedule.nextAfter(t))
          walked.push(t);
        expect(walked, render(f)).to.deep.equal(expected);
      }),
      { numRuns: 60, seed: 7 },
    );
  });
});
