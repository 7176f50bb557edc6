/**
 * Schedules (SPEC §5) as pure time math. Decisions a reader would otherwise have to dig out:
 * - cron: Debian cron DST rules (cron-walk.ts); `H` tokens hashed from the job name with sha256
 *   (hash.ts); H/n counts as a wildcard like *\/n; day-of-month H picks 1-28.
 * - `@every d`: k·d after the Unix epoch, independent of timezones.
 * - interval + reference: reference + k·interval, the reference read on 1970-01-01 in the zone's
 *   standard time (periodic.ts); spacing is exact, DST does not move it.
 * - fuzzy: whole-day periods pick a hashed local day and time (fixed-time DST rule); shorter
 *   periods are epoch-anchored, or repeat inside the local window (fuzzy.ts).
 * - at: once; null from `at` on. manual: never.
 */
import type { ScheduleSpec } from '../core/types.js';
import { CronSchedule } from './cron-walk.js';
import { parseCron } from './cron-parse.js';
import { compileFuzzy } from './fuzzy.js';
import { StableDraws } from './hash.js';
import { AtSchedule, EverySchedule, IntervalSchedule, ManualSchedule } from './periodic.js';
import { ScheduleError, type Schedule, type ScheduleContext } from './schedule.js';
import { parseWindow } from './wall-time.js';
import { resolveZone } from './zone.js';

export { ScheduleError, instantsBetween } from './schedule.js';
export type { Schedule, ScheduleContext } from './schedule.js';

const MANUAL = new ManualSchedule();

/**
 * Compiles a schedule spec into pure time math (no timers, no I/O). Throws ScheduleError
 * ("schedule: ...") for a bad cron field, an unknown IANA zone, a bad window or reference.
 * Cheap enough to call for 100,000 jobs at start-up: field tables and zones are cached.
 */
export function compileSchedule(spec: ScheduleSpec, ctx: ScheduleContext): Schedule {
  // Config validation and the daemon compile the same spec object: remember the result (a
  // compiled schedule is immutable), keyed by the context it depends on.
  const cached = compiled.get(spec);
  if (cached?.jobName === ctx.jobName && cached.timezone === ctx.defaultTimezone) return cached.schedule;
  const schedule = compileUncached(spec, ctx);
  compiled.set(spec, { jobName: ctx.jobName, timezone: ctx.defaultTimezone, schedule });
  return schedule;
}

const compiled = new WeakMap<ScheduleSpec, { jobName: string; timezone: string; schedule: Schedule }>();

function compileUncached(spec: ScheduleSpec, ctx: ScheduleContext): Schedule {
  switch (spec.kind) {
    case 'manual':
      return MANUAL;
    case 'cron':
      return compileCron(spec.expression, spec.timezone ?? ctx.defaultTimezone, drawsOf(ctx));
    case 'every':
      return new EverySchedule(positiveInterval(spec.intervalMs, '@every'));
    case 'interval':
      return new IntervalSchedule(
        positiveInterval(spec.intervalMs, 'interval'),
        spec.reference,
        resolveZone(spec.timezone ?? 'UTC'),
      );
    case 'fuzzy': {
      const window = spec.window && parseWindow(spec.window.start, spec.window.end);
      return compileFuzzy(
        spec.period,
        window,
        resolveZone(spec.timezone ?? ctx.defaultTimezone),
        drawsOf(ctx),
      );
    }
    case 'at':
      if (!Number.isFinite(spec.at)) throw new ScheduleError(`"at" must be a valid instant, got ${spec.at}`);
      return new AtSchedule(spec.at);
    default:
      throw new ScheduleError(`unknown schedule kind ${JSON.stringify((spec as { kind: unknown }).kind)}`);
  }
}

function drawsOf(ctx: ScheduleContext): StableDraws {
  return new StableDraws(ctx.jobName, ctx.nameDigest);
}

function compileCron(expression: string, timezone: string, draws: StableDraws): Schedule {
  if (typeof expression !== 'string' || expression.trim() === '')
    throw new ScheduleError('cron expression is empty: use e.g. "0 3 * * *", "@daily" or "@every 5m"');
  const parsed = parseCron(expression, draws);
  if (parsed.kind === 'manual') return MANUAL;
  if (parsed.kind === 'every') return new EverySchedule(parsed.intervalMs);
  return new CronSchedule(parsed.program, resolveZone(timezone), expression);
}

function positiveInterval(ms: number, what: string): number {
  if (!Number.isInteger(ms) || ms < 1)
    throw new ScheduleError(`${what} must be a positive duration like "10s" or "5m", got ${ms}ms`);
  return ms;
}
