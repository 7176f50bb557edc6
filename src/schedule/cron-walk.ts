import type { Millis } from '../core/types.js';
import type { CronProgram } from './cron-parse.js';
import type { Schedule } from './schedule.js';
import { isSupportedInstant, type Zone } from './zone.js';

/**
 * Next fire time of a cron program in a zone, with Debian cron's DST rules (man 8 cron):
 * - wildcard jobs (minute or hour starts with `*`) fire at every real instant whose local
 *   wall time matches: skipped local times never happen, repeated ones happen twice;
 * - fixed-time jobs fire once per matching local time: a time inside a spring-forward gap
 *   fires at the transition instant (right after the jump), a repeated time fires only on
 *   its first occurrence.
 *
 * The walk runs over constant-offset segments of the zone; inside one, local time is UTC plus
 * a constant, so matching is done on local wall-clock fields ("local ms": wall time read as UTC).
 */

/** Give up after this much local time without a match (29 Feb needs at most 8 years). */
const SEARCH_LIMIT = 30 * 366 * 86_400_000;

export class CronSchedule implements Schedule {
  constructor(
    private readonly program: CronProgram,
    private readonly zone: Zone,
    private readonly source: string,
  ) {}

  nextAfter(t: Millis): Millis | null {
    if (this.program.neverFires || !isSupportedInstant(t)) return null;
    const { program, zone } = this;
    let u = Math.floor(t / 1000) * 1000 + 1000;
    const giveUp = u + SEARCH_LIMIT;
    while (u < giveUp) {
      const seg = zone.segmentAt(u);
      if (program.fixedTime && seg.prevOffset > seg.offset) {
        // Local times in [start, start + fold) were already lived through before the fall-back.
        u = Math.max(u, seg.start + (seg.prevOffset - seg.offset));
        if (u >= seg.end) continue;
      }
      const localLimit = Math.min(seg.end + Math.max(seg.offset, seg.nextOffset), giveUp + seg.offset);
      const local = nextLocalMatch(program, u + seg.offset, localLimit);
      if (local !== null && local - seg.offset < seg.end) return local - seg.offset;
      if (program.fixedTime && local !== null && local < seg.end + seg.nextOffset) return seg.end;
      u = seg.end;
    }
    return null;
  }

  describe(): string {
    const source = this.source.trim();
    const fields = source.split(/\s+/).length === 6 ? this.program.fields : this.program.fields.slice(1);
    const expanded = fields.join(' ');
    return `cron ${source}${expanded === source ? '' : ` = ${expanded}`} (${this.zone.name})`;
  }
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return DAYS_IN_MONTH[month]!;
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}

function dayMatches(p: CronProgram, year: number, month: number, day: number): boolean {
  if (p.everyDay) return true;
  const domOk = p.dayOfMonth.allowed[day] === 1;
  if (!p.dayMatchesEither && !domOk) return false;
  // 1970-01-01 was a Thursday (4).
  const dowOk = p.dayOfWeek.allowed[(Math.floor(Date.UTC(year, month - 1, day) / 86_400_000) + 4) % 7] === 1;
  return p.dayMatchesEither ? domOk || dowOk : domOk && dowOk;
}

/** Smallest local wall time >= `from` (local ms, whole seconds) matching all fields, or null past `limit`. */
export function nextLocalMatch(p: CronProgram, from: number, limit: number): number | null {
  const start = new Date(from);
  let year = start.getUTCFullYear();
  let month = start.getUTCMonth() + 1;
  let day = start.getUTCDate();
  let hour = start.getUTCHours();
  let minute = start.getUTCMinutes();
  let second = start.getUTCSeconds();
  for (;;) {
    if (p.month.allowed[month] !== 1) {
      const nextMonth = p.month.next[month]!;
      if (nextMonth < 0) year++;
      month = nextMonth < 0 ? p.month.next[1]! : nextMonth;
      day = 1;
      hour = minute = second = 0;
      if (Date.UTC(year, month - 1, day) > limit) return null;
      continue;
    }
    if (!dayMatches(p, year, month, day)) {
      const nextDay = p.dayOfMonthOnly ? p.dayOfMonth.next[day]! : -1;
      if (nextDay > day && nextDay <= daysInMonth(year, month)) {
        day = nextDay;
        hour = minute = second = 0;
        if (Date.UTC(year, month - 1, day) > limit) return null;
      } else if (p.dayOfMonthOnly) {
        day = daysInMonth(year, month); // no allowed day left this month: advanceDay rolls over
        if (!advanceDay()) return null;
      } else if (!advanceDay()) return null;
      continue;
    }
    const nextHour = p.hour.next[hour]!;
    if (nextHour < 0) {
      if (!advanceDay()) return null;
      continue;
    }
    if (nextHour !== hour) {
      hour = nextHour;
      minute = second = 0;
    }
    const nextMinute = p.minute.next[minute]!;
    if (nextMinute < 0) {
      minute = second = 0;
      hour++;
      if (hour > 23 && !advanceDay()) return null;
      continue;
    }
    if (nextMinute !== minute) {
      minute = nextMinute;
      second = 0;
    }
    const nextSecond = p.second.next[second]!;
    if (nextSecond < 0) {
      second = 0;
      minute++;
      if (minute > 59) {
        minute = 0;
        hour++;
      }
      if (hour > 23 && !advanceDay()) return null;
      continue;
    }
    const found = Date.UTC(year, month - 1, day, hour, minute, nextSecond);
    return found > limit ? null : found;
  }

  function advanceDay(): boolean {
    hour = minute = second = 0;
    if (++day > daysInMonth(year, month)) {
      day = 1;
      if (++month > 12) {
        month = 1;
        year++;
      }
    }
    return Date.UTC(year, month - 1, day) <= limit;
  }
}
