import { formatDuration } from '../core/duration.js';
import type { FuzzyPeriod, Millis } from '../core/types.js';
import type { StableDraws } from './hash.js';
import { nextOnGrid } from './periodic.js';
import { ScheduleError, type Schedule } from './schedule.js';
import type { Window } from './wall-time.js';
import { instantOfWallTime, isSupportedInstant, type Zone } from './zone.js';

/**
 * Fuzzy schedules: once per period at an offset hashed from the job name (sha256, so identical
 * across restarts and daemons, and uniform across jobs).
 *
 * - Periods of whole days (daily, weekly, "48h"...) are anchored on LOCAL days (weeks start on
 *   Monday): each period picks a day (hashed) and a time of day (hashed, spread over the window
 *   or the whole day). That time is a fixed local wall time, so DST follows the fixed-time cron
 *   rule: in a spring-forward gap it fires at the transition, when the clock goes back only once.
 * - Shorter periods without a window (hourly, "15m", "90m"...) are k·period + offset after the
 *   Unix epoch: exactly one fire per real period, DST has no effect.
 * - Shorter periods with a window fire only inside the local window each day: from window start
 *   + offset every period while inside the window (offset spread over min(period, window)).
 */

const DAY = 86_400_000;
/** Hash slots (see hash.ts): where in the period the job fires. */
const SLOT_TIME = 0;
const SLOT_DAY = 1;
/** 1970-01-01 was a Thursday; weeks are anchored on Monday 1970-01-05, day 4. */
const MONDAY_EPOCH_DAY = 4;
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

export function periodMs(period: FuzzyPeriod): number {
  if (period === 'hourly') return 3_600_000;
  if (period === 'daily') return DAY;
  if (period === 'weekly') return 7 * DAY;
  return period.everyMs;
}

export function compileFuzzy(
  period: FuzzyPeriod,
  window: Window | undefined,
  zone: Zone,
  draws: StableDraws,
): Schedule {
  const ms = periodMs(period);
  if (!Number.isInteger(ms) || ms < 1000)
    throw new ScheduleError(`fuzzy period must be at least 1s, got ${JSON.stringify(period)}`);
  const label = typeof period === 'string' ? period : `every ${formatDuration(ms)}`;
  if (ms % DAY === 0) return new FuzzyDays(ms / DAY, window, zone, draws, label);
  if (!window) return new FuzzyGrid(ms, draws, label);
  if (ms > DAY)
    throw new ScheduleError(
      `fuzzy period ${formatDuration(ms)} cannot have a window: use a whole number of days (e.g. "48h") or less than a day`,
    );
  return new FuzzyInWindow(ms, window, zone, draws, label);
}

class FuzzyDays implements Schedule {
  private readonly anchorDay: number;
  private readonly dayIndex: number;
  private readonly timeOfDayMs: number;

  constructor(
    private readonly days: number,
    private readonly window: Window | undefined,
    private readonly zone: Zone,
    draws: StableDraws,
    private readonly label: string,
  ) {
    this.anchorDay = days === 7 ? MONDAY_EPOCH_DAY : 0;
    this.dayIndex = Math.floor(draws.fraction(SLOT_DAY) * days);
    const startSec = window?.startSec ?? 0;
    const lengthSec = window?.lengthSec ?? 86_400;
    this.timeOfDayMs = (startSec + Math.floor(draws.fraction(SLOT_TIME) * lengthSec)) * 1000;
  }

  nextAfter(t: Millis): Millis | null {
    if (!isSupportedInstant(t)) return null;
    const localDay = Math.floor((t + this.zone.offsetAt(t)) / DAY);
    const block = Math.floor((localDay - this.anchorDay) / this.days);
    // The previous block can still be ahead when its window wraps past midnight.
    for (let b = block - 1; ; b++) {
      const instant = instantOfWallTime(this.zone, this.fireLocal(b));
      if (instant > t) return instant;
    }
  }

  private fireLocal(block: number): number {
    return (this.anchorDay + block * this.days + this.dayIndex) * DAY + this.timeOfDayMs;
  }

  describe(): string {
    const time = new Date(this.timeOfDayMs).toISOString().slice(11, 19);
    const day =
      this.days === 7 ? `${WEEKDAYS[this.dayIndex]} ` : this.days > 1 ? `day ${this.dayIndex + 1}, ` : '';
    const window = this.window ? ` in ${this.window.text}` : '';
    return `fuzzy ${this.label}${window} (${this.zone.name}): ${day}${time}`;
  }
}

class FuzzyGrid implements Schedule {
  private readonly offsetMs: number;
  constructor(
    private readonly periodMs: number,
    draws: StableDraws,
    private readonly label: string,
  ) {
    this.offsetMs = Math.floor(draws.fraction(SLOT_TIME) * (periodMs / 1000)) * 1000;
  }
  nextAfter(t: Millis): Millis {
    return nextOnGrid(this.offsetMs, this.periodMs, t);
  }
  describe(): string {
    return `fuzzy ${this.label}: ${offsetText(this.offsetMs)} into each period`;
  }
}

class FuzzyInWindow implements Schedule {
  private readonly offsetMs: number;
  constructor(
    private readonly periodMs: number,
    private readonly window: Window,
    private readonly zone: Zone,
    draws: StableDraws,
    private readonly label: string,
  ) {
    const spreadSec = Math.min(periodMs / 1000, window.lengthSec);
    this.offsetMs = Math.floor(draws.fraction(SLOT_TIME) * spreadSec) * 1000;
  }

  nextAfter(t: Millis): Millis | null {
    if (!isSupportedInstant(t)) return null;
    const localDay = Math.floor((t + this.zone.offsetAt(t)) / DAY);
    // Windows wrap past midnight at most once, so yesterday's window may still be ahead.
    for (let day = localDay - 1; ; day++) {
      const found = this.firstInDay(day, t);
      if (found !== null) return found;
    }
  }

  private firstInDay(day: number, t: Millis): Millis | null {
    const windowStart = day * DAY + this.window.startSec * 1000;
    const windowEnd = windowStart + this.window.lengthSec * 1000;
    const approxLocal = t + this.zone.offsetAt(t);
    let k = Math.max(0, Math.floor((approxLocal - windowStart - this.offsetMs) / this.periodMs) - 2);
    for (
      let local = windowStart + this.offsetMs + k * this.periodMs;
      local < windowEnd;
      local += this.periodMs, k++
    ) {
      const instant = instantOfWallTime(this.zone, local);
      if (instant > t) return instant;
    }
    return null;
  }

  describe(): string {
    return `fuzzy ${this.label} in ${this.window.text} (${this.zone.name}): ${offsetText(this.offsetMs)} into each period`;
  }
}

/** "+1d 02:03:04" / "+02:03:04" for an offset into a period. */
function offsetText(ms: number): string {
  const days = Math.floor(ms / DAY);
  const time = new Date(ms % DAY).toISOString().slice(11, 19);
  return days > 0 ? `+${days}d ${time}` : `+${time}`;
}
