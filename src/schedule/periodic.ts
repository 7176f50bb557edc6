import { formatDuration } from '../core/duration.js';
import type { Millis } from '../core/types.js';
import type { Schedule } from './schedule.js';
import { parseWallTime } from './wall-time.js';
import { standardOffset, type Zone } from './zone.js';

/** Smallest anchor + k·interval strictly after t, for any integer k. */
export function nextOnGrid(anchor: number, intervalMs: number, t: Millis): Millis {
  return anchor + (Math.floor((t - anchor) / intervalMs) + 1) * intervalMs;
}

/** `@every <duration>`: k·interval after the Unix epoch, so restarts do not shift it. */
export class EverySchedule implements Schedule {
  constructor(private readonly intervalMs: number) {}
  nextAfter(t: Millis): Millis {
    return nextOnGrid(0, this.intervalMs, t);
  }
  describe(): string {
    return `every ${formatDuration(this.intervalMs)}`;
  }
}

/**
 * `{interval, reference}`: the instants reference + k·interval, k any integer, exactly evenly
 * spaced. The reference is a wall time on 1970-01-01 read in the zone's STANDARD (winter) time,
 * i.e. the smaller of its January and July offsets in the year of the query. DST is therefore
 * ignored on purpose: in summer the fires keep their real-time spacing and move one hour on the
 * wall clock, unless the interval divides the DST shift (10m, 30m, 1h...), where nothing changes.
 * (1970 itself is not used for the offset: some zones, e.g. Europe/London, had odd rules then.)
 */
export class IntervalSchedule implements Schedule {
  private readonly referenceMs: number;
  constructor(
    private readonly intervalMs: number,
    private readonly reference: string,
    private readonly zone: Zone,
  ) {
    this.referenceMs = parseWallTime(reference, 'reference') * 1000;
  }
  nextAfter(t: Millis): Millis {
    const anchor = this.referenceMs - standardOffset(this.zone, t);
    return nextOnGrid(anchor, this.intervalMs, t);
  }
  describe(): string {
    return `every ${formatDuration(this.intervalMs)} from ${this.reference} (${this.zone.name})`;
  }
}

/** One-off: fires once at `at`. */
export class AtSchedule implements Schedule {
  constructor(private readonly at: Millis) {}
  nextAfter(t: Millis): Millis | null {
    return t < this.at ? this.at : null;
  }
  describe(): string {
    return `at ${new Date(this.at).toISOString()}`;
  }
}

export class ManualSchedule implements Schedule {
  nextAfter(): null {
    return null;
  }
  describe(): string {
    return 'manual';
  }
}
