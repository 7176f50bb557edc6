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

/**
 * Distinct 5-field expressions: minute, hour, day of month and month vary with i. Each run
 * separates the fields by a different number of spaces, so no run is served by the parse
 * cache of an earlier one (same meaning, new text, as with a fleet of distinct jobs).
 */
let runIndex = 0;
function distinctCron(i: number): string {
  const minute = i % 60;
  const hour = Math.floor(i / 60) % 24;
  const dom = (Math.floor(i / 1440) % 28) + 1;
  const month = (Math.floor(i / 40_320) % 12) + 1;
  const fields = i % 3 === 0 ? [minute, hour, '*', '*', '*'] : [minute, hour, dom, month, '*'];
  return fields.join(' '.repeat(runIndex + 1));
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

/** Wall time and CPU time (user + system) of one run, in ms; CPU time is robust on a busy machine. */
interface Timing {
  wall: number;
  cpu: number;
}

function timed(run: () => void): Timing {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  run();
  const wall = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  return { wall, cpu: (cpu.user + cpu.system) / 1000 };
}

function timeCompile(count: number, spec: (i: number) => ScheduleSpec): Timing {
  return timed(() => compileMany(count, spec));
}

function compileMany(count: number, spec: (i: number) => ScheduleSpec): void {
  let sink = 0;
  for (let i = 0; i < count; i++) {
    const schedule = compileSchedule(spec(i), { jobName: `job-${i}`, defaultTimezone: 'UTC' });
    sink += schedule.nextAfter(NOW) ?? 0;
  }
  if (sink === 0) throw new Error('no schedule fired');
}

function timeCronParser(count: number): Timing {
  return timed(() => {
    for (let i = 0; i < count; i++)
      CronExpressionParser.parse(distinctCron(i), { tz: ZONES[i % ZONES.length], currentDate: NOW }).next();
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface Measured {
  cold: Timing;
  wall: number;
  cpu: number;
}

/** The first run pays for zone discovery and field tables (what a fresh daemon pays); then medians. */
function measure(run: () => Timing): Measured {
  runIndex++;
  const cold = run();
  const warm = Array.from({ length: RUNS }, () => {
    runIndex++;
    return run();
  });
  return { cold, wall: median(warm.map((t) => t.wall)), cpu: median(warm.map((t) => t.cpu)) };
}

function row(scenario: string, jobs: number, m: Measured): Record<string, string | number> {
  return {
    scenario,
    jobs,
    'first run wall ms': m.cold.wall.toFixed(1),
    'first run cpu ms': m.cold.cpu.toFixed(1),
    'median wall ms': m.wall.toFixed(1),
    'median cpu ms': m.cpu.toFixed(1),
    'cpu µs/job': ((m.cpu * 1000) / jobs).toFixed(2),
  };
}

const rows: Record<string, string | number>[] = [];
let oursAt1k: Measured | undefined;
for (const [name, spec] of Object.entries(scenarios)) {
  for (const count of [1_000, 100_000]) {
    const measured = measure(() => timeCompile(count, spec));
    oursAt1k ??= measured;
    rows.push(row(name, count, measured));
  }
}
const reference = measure(() => timeCronParser(1_000));
rows.push(row('reference: cron-parser parse+next (tz)', 1_000, reference));
console.table(rows);
console.log(
  `load average: ${(await import('node:os')).loadavg()[0]!.toFixed(1)} on ${(await import('node:os')).cpus().length} cores`,
);
console.log(
  `cron-parser iterator / distcron (1k distinct cron jobs, median cpu): ${(reference.cpu / oursAt1k!.cpu).toFixed(1)}x`,
);
