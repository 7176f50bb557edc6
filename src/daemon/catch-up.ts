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

export type FirePlan =
  | { kind: 'none' }
  /** Fire these instants now; `late` ones run with trigger catch_up. */
  | { kind: 'fire'; instants: { at: Millis; late: boolean }[]; missed: MissedSummary | null }
  /** Nothing runs; one `missed` run records the gap. */
  | { kind: 'missed'; missed: MissedSummary };

export interface MissedSummary {
  /** The instant the `missed` run is recorded under. */
  at: Millis;
  count: number;
  countCapped: boolean;
  from: Millis;
  to: Millis;
}

/**
 * What to do with the instants due since the job's last scheduled instant (SPEC §5 catch-up).
 * An instant more than `graceMs` old is late. With nothing late this is a plain on-time fire of
 * the latest due instant (earlier on-time ones coalesce into it).
 */
export function planFires(
  due: DueInstants,
  policy: JobDef['catchUp'],
  now: Millis,
  graceMs: number,
): FirePlan {
  const latest = due.recent[due.recent.length - 1];
  if (latest === undefined) return { kind: 'none' };
  const isLate = (at: Millis) => now - at > graceMs;
  const anyLate = due.first !== null && isLate(due.first);
  if (!anyLate) return { kind: 'fire', instants: [{ at: latest, late: false }], missed: null };
  switch (policy) {
    case 'skip':
      return planSkip(due, latest, isLate);
    case 'latest':
      return { kind: 'fire', instants: [{ at: latest, late: isLate(latest) }], missed: null };
    case 'all':
      return planAll(due, isLate);
  }
}

function planSkip(due: DueInstants, latest: Millis, isLate: (at: Millis) => boolean): FirePlan {
  const lateOnes = due.recent.filter(isLate);
  const lastLate = lateOnes[lateOnes.length - 1] ?? latest;
  const onTime = !isLate(latest);
  const lateCount = onTime ? due.total - due.recent.filter((t) => !isLate(t)).length : due.total;
  const missed = summary(lastLate, lateCount, due);
  if (!onTime) return { kind: 'missed', missed };
  return { kind: 'fire', instants: [{ at: latest, late: false }], missed };
}

/** Replays the most recent 100; older ones are recorded as one `missed` run (needs keep >= 101). */
function planAll(due: DueInstants, isLate: (at: Millis) => boolean): FirePlan {
  const replay = due.recent.slice(-CATCH_UP_REPLAY_CAP);
  const dropped = due.total - replay.length;
  const instants = replay.map((at) => ({ at, late: isLate(at) }));
  const lastDropped = due.recent[due.recent.length - replay.length - 1];
  const missed = dropped > 0 && lastDropped !== undefined ? summary(lastDropped, dropped, due) : null;
  return { kind: 'fire', instants, missed };
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
