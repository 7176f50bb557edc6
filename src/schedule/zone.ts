import type { Millis } from '../core/types.js';
import { ScheduleError } from './schedule.js';

/**
 * IANA zones as piecewise-constant UTC offsets (segments), found with Intl.
 *
 * Why not luxon (a dependency, used for validation elsewhere): the cron walker's DST rules
 * need each segment's boundaries and the offsets on both sides (a skipped or repeated local
 * hour), and luxon only answers "the offset at instant t" — by the same Intl formatting this
 * file does, one call per lookup. The transitions themselves are found here by sampling the
 * offset once a day and bisecting to the second, which assumes no zone changes its offset
 * twice within one day (true of every zone in the tz database since 1970). Each zone keeps the
 * segments it has discovered, so after warm-up a lookup is a scan of a few entries instead of
 * an Intl call per job when 100,000 jobs are compiled.
 */

const DAY = 86_400_000;
/** Transitions are found by sampling once a day, then bisecting to the second. */
const SCAN_STEP = DAY;
/** How far ahead a segment looks for its end; beyond that a new segment is discovered. */
const FORWARD_HORIZON = 366 * DAY;
/**
 * How far back a segment looks for its start. The start only matters for "was this local time
 * already seen before a fall-back?", and no real fall-back repeats more than a day.
 */
const BACKWARD_HORIZON = 2 * DAY;

/** JS dates end at ±8.64e15 ms; keep clear of the edge so searches never reach invalid dates. */
const EDGE = 8.64e15 - 100 * 366 * DAY;

/** False for NaN, ±Infinity and instants too close to the end of representable dates. */
export function isSupportedInstant(t: Millis): boolean {
  return t > -EDGE && t < EDGE;
}

/** A stretch of time with one UTC offset: local wall time = utc + offset. */
export interface Segment {
  start: Millis;
  /** Exclusive; a transition to `nextOffset` happens here (or the scan horizon ends, same offset). */
  end: Millis;
  offset: number;
  prevOffset: number;
  nextOffset: number;
}

export interface Zone {
  readonly name: string;
  segmentAt(utc: Millis): Segment;
  offsetAt(utc: Millis): number;
}

/** Safe to share process-wide: a zone's rules are fixed for the life of the process (Intl's tz data). */
const zones = new Map<string, Zone>();

/** Returns the cached zone for an IANA name; throws ScheduleError for unknown names. */
export function resolveZone(name: string): Zone {
  let zone = zones.get(name);
  if (!zone) {
    zone = createZone(name);
    zones.set(name, zone);
  }
  return zone;
}

function createZone(name: string): Zone {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    throw new ScheduleError(
      `unknown timezone "${name}": use an IANA zone name such as "Europe/Berlin", "America/New_York" or "UTC"`,
    );
  }
  const canonical = format.resolvedOptions().timeZone;
  if (canonical === 'UTC' || canonical === 'Etc/UTC' || canonical === 'Etc/GMT')
    return new FixedZone(name, 0);
  return new IntlZone(name, format);
}

class FixedZone implements Zone {
  private readonly segment: Segment;
  constructor(
    readonly name: string,
    offset: number,
  ) {
    this.segment = { start: -Infinity, end: Infinity, offset, prevOffset: offset, nextOffset: offset };
  }
  segmentAt(): Segment {
    return this.segment;
  }
  offsetAt(): number {
    return this.segment.offset;
  }
}

const FORMATTED = /^(\d+)\/(\d+)\/(\d+), (\d+):(\d+):(\d+)$/;

class IntlZone implements Zone {
  private readonly segments: Segment[] = [];
  private last: Segment | undefined;

  constructor(
    readonly name: string,
    private readonly format: Intl.DateTimeFormat,
  ) {}

  offsetAt(utc: Millis): number {
    return this.segmentAt(utc).offset;
  }

  segmentAt(utc: Millis): Segment {
    const last = this.last;
    if (last && last.start <= utc && utc < last.end) return last;
    let found = this.segments.find((s) => s.start <= utc && utc < s.end);
    if (!found) {
      found = this.discover(utc);
      this.segments.push(found);
      this.segments.sort((a, b) => a.start - b.start);
    }
    this.last = found;
    return found;
  }

  private discover(instant: Millis): Segment {
    const utc = Math.floor(instant / 1000) * 1000; // transitions fall on whole seconds
    const offset = this.rawOffset(utc);
    const after = this.findChange(utc, offset, SCAN_STEP, utc + FORWARD_HORIZON);
    const before = this.findChange(utc, offset, -SCAN_STEP, utc - BACKWARD_HORIZON);
    return {
      start: before.at,
      end: after.at,
      offset,
      prevOffset: before.offset,
      nextOffset: after.offset,
    };
  }

  /**
   * Walks from `from` in `step`s until the offset differs or `limit` is passed, then bisects.
   * Returns the first instant (to the second) of the other offset going forward, or — going
   * backward — the first instant with `offset`; at the horizon, the horizon with `offset`.
   */
  private findChange(
    from: Millis,
    offset: number,
    step: number,
    limit: Millis,
  ): { at: Millis; offset: number } {
    let inside = from;
    for (;;) {
      const probe = step > 0 ? Math.min(inside + step, limit) : Math.max(inside + step, limit);
      const probeOffset = this.rawOffset(probe);
      if (probeOffset !== offset) return this.bisect(inside, probe, offset, step > 0);
      if (probe === limit) return { at: limit, offset };
      inside = probe;
    }
  }

  private bisect(
    inside: Millis,
    outside: Millis,
    offset: number,
    forward: boolean,
  ): { at: Millis; offset: number } {
    while (Math.abs(outside - inside) > 1000) {
      const mid = Math.floor((inside + outside) / 2000) * 1000;
      if (mid === inside || mid === outside) break;
      if (this.rawOffset(mid) === offset) inside = mid;
      else outside = mid;
    }
    const otherOffset = this.rawOffset(outside);
    return forward ? { at: outside, offset: otherOffset } : { at: inside, offset: otherOffset };
  }

  /** Offset in ms at `utc`, via Intl (the slow path). */
  private rawOffset(utc: Millis): number {
    const match = FORMATTED.exec(this.format.format(utc));
    if (!match) throw new ScheduleError(`cannot read local time in zone "${this.name}"`);
    const [, month, day, year, hour, minute, second] = match.map(Number) as number[];
    const local = Date.UTC(year!, month! - 1, day!, hour!, minute!, second!);
    return local - Math.floor(utc / 1000) * 1000;
  }
}

/**
 * The instant a fixed local wall time (`local`: wall time read as UTC ms) happens, by Debian
 * cron's rule for fixed-time jobs: its first occurrence when the clock goes back, and the
 * transition instant when the time falls into a spring-forward gap.
 */
export function instantOfWallTime(zone: Zone, local: number): Millis {
  // No zone is more than a day off UTC, so two days earlier is before any occurrence.
  let u = local - 2 * DAY;
  for (;;) {
    const seg = zone.segmentAt(u);
    const candidate = local - seg.offset;
    if (candidate >= u && candidate < seg.end) return candidate;
    if (candidate >= seg.end && local < seg.end + seg.nextOffset) return seg.end;
    u = seg.end;
  }
}

/** The zone's standard (winter) offset in the UTC year of `utc`: the smaller of its January and July offsets. */
export function standardOffset(zone: Zone, utc: Millis): number {
  const year = new Date(utc).getUTCFullYear();
  return Math.min(zone.offsetAt(Date.UTC(year, 0, 1)), zone.offsetAt(Date.UTC(year, 6, 1)));
}
