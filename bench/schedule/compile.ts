/**
 * Start-up cost of schedules: compileSchedule + first nextAfter, as the daemon does for every job.
 * Run: npx tsx bench/schedule/compile.ts   (prints medians; no thresholds here, see SPEC §5)
 */
import { CronExpressionParser } from 'cron-parser';
import type { ScheduleSpec } from '../../src/core/types.js';
import { compileSchedule } from '../../src/schedule/index.js';

const NOW = Date.parse('2026-11-26T10:00:00Z');
const ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Asia/Kolkata',
  'Australia/Sydney',
  'America/Sao_Paulo',
  'Asia/Tokyo',
  'Europe/London',
];
const RUNS = 5;

/** Distinct 5-field expressions: minute, hour, day of month and month all vary with i. */
function distinctCron(i: number): string {
  const minute = i % 60;
  const hour = Math.floor(i / 60) % 24;
  const dom = (Math.floor(i / 1440) % 28) + 1;
  const month = (Math.floor(i / 40_320) % 12) + 1;
  return i % 3 === 0 ? `${minute} ${hour} * * *` : `${minute} ${hour} ${dom} ${month} *`;
}

const scenarios: Record<string, (i: number) => ScheduleSpec> = {
  'cron 5-field, 8 zones': (i) => ({
    kind: 'cron',
    expression: distinctCron(i),
    timezone: ZONES[i % ZONES.length],
  }),
  'cron "H H * * *", 8 zones': (i) => ({
    kind: 'cron',
    expression: 'H H * * *',
    timezone: ZONES[i % ZONES.length],
  }),
  'fuzzy daily, window 01:00-05:00': (i) => ({
    kind: 'fuzzy',
    period: 'daily',
    window: { start: '01:00', end: '05:00' },
    timezone: ZONES[i % ZONES.length],
  }),
};

function timeCompile(count: number, spec: (i: number) => ScheduleSpec): number {
  const start = performance.now();
  let sink = 0;
  for (let i = 0; i < count; i++) {
    const schedule = compileSchedule(spec(i), { jobName: `job-${i}`, defaultTimezone: 'UTC' });
    sink += schedule.nextAfter(NOW) ?? 0;
  }
  if (sink === 0) throw new Error('no schedule fired');
  return performance.now() - start;
}

function timeCronParser(count: number): number {
  const start = performance.now();
  for (let i = 0; i < count; i++)
    CronExpressionParser.parse(distinctCron(i), { tz: ZONES[i % ZONES.length], currentDate: NOW }).next();
  return performance.now() - start;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function measure(count: number, run: () => number): { cold: number; median: number } {
  const cold = run();
  const warm = Array.from({ length: RUNS }, run);
  return { cold, median: median(warm) };
}

const rows: Record<string, string | number>[] = [];
for (const [name, spec] of Object.entries(scenarios)) {
  for (const count of [1_000, 100_000]) {
    const { cold, median: ms } = measure(count, () => timeCompile(count, spec));
    rows.push({
      scenario: name,
      jobs: count,
      'first run ms': cold.toFixed(1),
      'median ms': ms.toFixed(1),
      'µs/job': ((ms * 1000) / count).toFixed(2),
    });
  }
}
const reference = measure(1_000, () => timeCronParser(1_000));
const ours = rows[0]!;
rows.push({
  scenario: 'reference: cron-parser parse+next (tz)',
  jobs: 1_000,
  'first run ms': reference.cold.toFixed(1),
  'median ms': reference.median.toFixed(1),
  'µs/job': ((reference.median * 1000) / 1_000).toFixed(2),
});
console.table(rows);
console.log(
  `cron-parser iterator / distcron walker (1k jobs, median): ${(reference.median / Number(ours['median ms'])).toFixed(1)}x`,
);
