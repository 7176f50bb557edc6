import type { ScheduleSpec } from '../../../src/core/types.js';
import { compileSchedule, instantsBetween, type Schedule } from '../../../src/schedule/index.js';

export function compile(
  spec: ScheduleSpec | string,
  jobName = 'test-job',
  defaultTimezone = 'UTC',
): Schedule {
  const full: ScheduleSpec = typeof spec === 'string' ? { kind: 'cron', expression: spec } : spec;
  return compileSchedule(full, { jobName, defaultTimezone });
}

/** Fire instants in (from, to] as ISO strings, for readable assertions. */
export function fires(schedule: Schedule, from: string, to: string, limit = 200): string[] {
  return instantsBetween(schedule, Date.parse(from), Date.parse(to), limit).map((ms) =>
    new Date(ms).toISOString(),
  );
}

export function cronFires(expression: string, timezone: string, from: string, to: string): string[] {
  return fires(compile({ kind: 'cron', expression, timezone }), from, to);
}

/** Shorthand: "2026-03-29T01:00" → "2026-03-29T01:00:00.000Z". */
export function utc(...times: string[]): string[] {
  return times.map((t) => new Date(`${t}${t.length === 16 ? ':00' : ''}Z`).toISOString());
}
