import type { JobDef, Millis } from '../core/types.js';
import type { Schedule } from '../schedule/schedule.js';

/** SPEC §5: `all` replays at most this many missed instants. */
export const CATCH_UP_REPLAY_CAP = 100;
/** How many recent instants planning needs to see: the replay cap plus the last dropped one. */
export const DUE_KEEP = CATCH_UP_REPLAY_CAP + 1;
/** Past this many instants we stop counting one by one (a per-second cron after a long outage). */
const SCAN_CAP = 100_000;

export interface DueInstants {
  /** The most recent due instants, ascending (at most `keep`). */
  recent: Millis[];
  /** How many instants were due in all (a lower bound when `countCapped`). */
  total: number;
  countCapped: boolean;
  first: Millis | null;
}

/** Instants in (after, now], keeping the most recent `keep`. Pure; bounded work. */
export function dueInstants(schedule: Schedule, after: Millis, now: Millis, keep: number): DueInstants {
  const recent: Millis[] = [];
  let total = 0;
  let first: Millis | null = null;
  let t = schedule.nextAfter(after);
  while (t !== null && t <= now && total < SCAN_CAP) {
    first ??= t;
    recent.push(t);
    if (recent.length > keep) recent.shift();
    total++;
    t = schedule.nextAfter(t);
  }
  if (t === null || t > now) return { recent, total, countCapped: false, first };
  return { recent: mostRecent(schedule, after, now, keep), total, countCapped: true, first };
}

/** The last `keep` instants in (after, now]: widen a window back from now until it holds them. */
function mostRecent(schedule: Schedule, after: Millis, now: Millis, keep: number): Millis[] {
  for (let span = 60_000; ; span *= 2) {
    const from = Math.max(after, now - span);
    const found: Millis[] = [];
    let t = schedule.nextAfter(from);
    while (t !== null && t <= now) {
      found.push(t);
      if (found.length > keep) found.shift();
      t = schedule.nextAfter(t);
    }
    if (found.length >= keep || from === after) return found;
  }
}

export interface FirePlan {
  /** Instants to run now, ascending; `late` ones run with trigger `catch_up`. */
  fires: { at: Millis; late: boolean }[];
  /** One `missed` run standing for every due instant that does not run. */
  missed: MissedSummary | null;
}

export interface MissedSummary {
  /** The instant the `missed` run is recorded under (the last one it stands for). */
  at: Millis;
  count: number;
  countCapped: boolean;
  from: Millis;
  to: Millis;
}

export interface PlanContext {
  policy: JobDef['catchUp'];
  now: Millis;
  /** A fire more than this late is a catch-up (`--grace`). */
  graceMs: number;
  /** When the scheduler started watching: an instant at or before it came while the daemon was down. */
  upSince: Millis;
}

/**
 * What to do with the instants due since the job's last scheduled instant (SPEC §5 catch-up).
 * An instant is on time only if it came while the daemon was up and is at most `graceMs` old;
 * each on-time instant runs. The late ones (always the oldest) follow the job's `catch_up`:
 * `all` runs each, `latest` runs the newest, `skip` none; one `missed` run stands for the rest.
 * At most CATCH_UP_REPLAY_CAP instants run per plan, so every instant not run lies in
 * `due.recent` or before it and the missed range ends on a known instant.
 */
export function planFires(due: DueInstants, ctx: PlanContext): FirePlan {
  const isLate = (at: Millis) => at <= ctx.upSince || ctx.now - at > ctx.graceMs;
  const onTime = due.recent.filter((at) => !isLate(at)).slice(-CATCH_UP_REPLAY_CAP);
  const late = due.recent.slice(0, due.recent.length - onTime.length);
  const lateTotal = due.total - onTime.length;
  const lateRuns = lateToRun(late, ctx.policy, CATCH_UP_REPLAY_CAP - onTime.length);
  const dropped = lateTotal - lateRuns.length;
  const lastDropped = late[late.length - lateRuns.length - 1];
  return {
    fires: [...lateRuns.map((at) => ({ at, late: true })), ...onTime.map((at) => ({ at, late: false }))],
    missed: dropped > 0 && lastDropped !== undefined ? summary(lastDropped, dropped, due) : null,
  };
}

function lateToRun(late: Millis[], policy: JobDef['catchUp'], room: number): Millis[] {
  if (late.length === 0 || room <= 0) return [];
  switch (policy) {
    case 'skip':
      return [];
    case 'latest':
      return late.slice(-1);
    case 'all':
      return late.slice(-room);
  }
}

function summary(at: Millis, count: number, due: DueInstants): MissedSummary {
  return { at, count, countCapped: due.countCapped, from: due.first ?? at, to: at };
}

export function describeMissed(m: MissedSummary): string {
  const count = m.countCapped ? `more than ${m.count}` : String(m.count);
  const span =
    m.count === 1
      ? `at ${new Date(m.from).toISOString()}`
      : `between ${new Date(m.from).toISOString()} and ${new Date(m.to).toISOString()}`;
  return `missed ${count} scheduled instant${m.count === 1 ? '' : 's'} ${span} (daemon down or too late)`;
}
