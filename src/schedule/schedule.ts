import type { Millis } from '../core/types.js';

/** A compiled schedule: pure time math, no timers, no I/O. */
export interface Schedule {
  /** Smallest fire instant strictly after `t`, or null when there is none (manual, past one-off). */
  nextAfter(t: Millis): Millis | null;
  /** Human-readable form for the CLI and API, e.g. "cron 30 2 * * * (Europe/Berlin)". */
  describe(): string;
}

export interface ScheduleContext {
  /** Job name: seeds the stable hash of fuzzy schedules and H tokens. */
  jobName: string;
  /** sha256 hex of jobName when the caller has it already (the config reader thread). */
  nameDigest?: string;
  /** IANA zone used when the schedule names none (daemon --timezone). */
  defaultTimezone: string;
}

export class ScheduleError extends Error {
  constructor(message: string) {
    super(`schedule: ${message}`);
    this.name = 'ScheduleError';
  }
}

/** Up to `limit` fire instants in (from, to], in order. */
export function instantsBetween(schedule: Schedule, from: Millis, to: Millis, limit: number): Millis[] {
  const out: Millis[] = [];
  let t = schedule.nextAfter(from);
  while (t !== null && t <= to && out.length < limit) {
    out.push(t);
    t = schedule.nextAfter(t);
  }
  return out;
}
