import { CronExpressionParser } from 'cron-parser';
import type { Millis, ScheduleSpec } from '../core/types.js';
import { ScheduleError, type Schedule, type ScheduleContext } from './schedule.js';

export { ScheduleError, instantsBetween } from './schedule.js';
export type { Schedule, ScheduleContext } from './schedule.js';

/** Compiles a schedule spec into pure time math; throws ScheduleError on invalid input. */
export function compileSchedule(spec: ScheduleSpec, ctx: ScheduleContext): Schedule {
  switch (spec.kind) {
    case 'manual':
      return { nextAfter: () => null, describe: () => 'manual' };
    case 'at':
      return { nextAfter: (t: Millis) => (t < spec.at ? spec.at : null), describe: () => `at ${spec.at}` };
    case 'every':
      return everySchedule(spec.intervalMs);
    case 'cron':
      return provisionalCron(spec.expression, spec.timezone ?? ctx.defaultTimezone);
    default:
      throw new ScheduleError(`schedule kind "${spec.kind}" is not implemented yet`);
  }
}

function everySchedule(intervalMs: number): Schedule {
  if (!(intervalMs > 0)) throw new ScheduleError('@every needs a positive interval');
  return {
    nextAfter: (t: Millis) => (Math.floor(t / intervalMs) + 1) * intervalMs,
    describe: () => `every ${intervalMs}ms`,
  };
}

// Provisional: replaced by the bitset walker.
function provisionalCron(expression: string, tz: string): Schedule {
  try {
    CronExpressionParser.parse(expression, { tz });
  } catch (err) {
    throw new ScheduleError(`invalid cron "${expression}": ${(err as Error).message}`);
  }
  return {
    nextAfter: (t: Millis) => CronExpressionParser.parse(expression, { tz, currentDate: t }).next().getTime(),
    describe: () => `cron ${expression} (${tz})`,
  };
}
