import { expect } from 'chai';
import fc from 'fast-check';
import { compile } from './fires.js';

/**
 * Cross-check of the segment walker against a brute-force reading of Debian cron's rules: step
 * through every UTC minute, read the local wall time with Intl, and decide minute by minute.
 */

const MINUTE = 60_000;

interface Fields {
  minute: number[] | 'star';
  hour: number[] | 'star';
  weekday: number[] | 'star';
  minuteStep: number;
  hourStep: number;
}

function render(f: Fields): string {
  const field = (v: number[] | 'star', step: number) =>
    v === 'star' ? (step > 1 ? `*/${step}` : '*') : v.join(',');
  return `${field(f.minute, f.minuteStep)} ${field(f.hour, f.hourStep)} * * ${f.weekday === 'star' ? '*' : f.weekday.join(',')}`;
}

function allows(values: number[] | 'star', step: number, v: number): boolean {
  return values === 'star' ? v % step === 0 : values.includes(v);
}

function localParts(
  format: Intl.DateTimeFormat,
  utc: number,
): { local: number; minute: number; hour: number; weekday: number } {
  const [date, time] = format.format(utc).split(', ') as [string, string];
  const [month, day, year] = date.split('/').map(Number) as [number, number, number];
  const [hour, minute] = time.split(':').map(Number) as [number, number];
  const local = Date.UTC(year, month - 1, day, hour, minute);
  return { local, minute, hour, weekday: new Date(local).getUTCDay() };
}

function bruteForce(f: Fields, zone: string, from: number, to: number): number[] {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  });
  const fixed = f.minute !== 'star' && f.hour !== 'star';
  const matches = (local: number) => {
    const d = new Date(local);
    return (
      allows(f.minute, f.minuteStep, d.getUTCMinutes()) &&
      allows(f.hour, f.hourStep, d.getUTCHours()) &&
      (f.weekday === 'star' || f.weekday.includes(d.getUTCDay()))
    );
  };
  const out: number[] = [];
  let latestLocal = localParts(format, from - 6 * 3_600_000).local;
  for (let u = from - 6 * 3_600_000 + MINUTE; u <= to; u += MINUTE) {
    const { local } = localParts(format, u);
    let fire: boolean;
    if (!fixed) fire = matches(local);
    else if (local <= latestLocal)
      fire = false; // repeated wall time: only the first occurrence runs
    else {
      fire = false; // a jump forward runs every skipped fixed time once, right after the jump
      for (let skipped = latestLocal + MINUTE; skipped <= local && !fire; skipped += MINUTE)
        fire = matches(skipped);
    }
    latestLocal = Math.max(latestLocal, local);
    if (fire && u > from) out.push(u);
  }
  return out;
}

const values = (max: number) =>
  fc
    .uniqueArray(fc.integer({ min: 0, max }), { minLength: 1, maxLength: 4 })
    .map((v) => v.sort((a, b) => a - b));
const fieldsArb: fc.Arbitrary<Fields> = fc.record({
  minute: fc.oneof(fc.constant('star' as const), values(59)),
  // Hours 1-3 are where DST changes happen in the zones below; weight them so the gaps and folds get hit.
  hour: fc.oneof(
    fc.constant('star' as const),
    values(23),
    fc.constantFrom<number[]>([2], [1, 2], [2, 3], [0, 2, 4]),
  ),
  weekday: fc.oneof(fc.constant('star' as const), fc.constant('star' as const), values(6)),
  minuteStep: fc.constantFrom(1, 15, 20),
  hourStep: fc.constantFrom(1, 2, 3),
});

const TRANSITIONS: [string, string][] = [
  ['Europe/Berlin', '2026-03-28T12:00:00Z'],
  ['Europe/Berlin', '2026-10-24T12:00:00Z'],
  ['America/New_York', '2026-03-07T18:00:00Z'],
  ['America/New_York', '2026-10-31T18:00:00Z'],
  ['Australia/Lord_Howe', '2026-04-04T06:00:00Z'], // 30-minute DST shift
  ['Australia/Lord_Howe', '2026-10-03T06:00:00Z'],
];

describe('schedule: cron walker against a brute-force minute scan', () => {
  for (const [zone, start] of TRANSITIONS) {
    it(`agrees on every fire over the DST change in ${zone} after ${start.slice(0, 10)}`, () => {
      const from = Date.parse(start);
      const to = from + 36 * 3_600_000;
      fc.assert(
        fc.property(fieldsArb, (f) => {
          const schedule = compile({ kind: 'cron', expression: render(f), timezone: zone });
          const walked: number[] = [];
          for (let t = schedule.nextAfter(from); t !== null && t <= to; t = schedule.nextAfter(t))
            walked.push(t);
          expect(
            walked.map((ms) => new Date(ms).toISOString()),
            render(f),
          ).to.deep.equal(bruteForce(f, zone, from, to).map((ms) => new Date(ms).toISOString()));
        }),
        { numRuns: 25, seed: 42 },
      );
    });
  }
});
