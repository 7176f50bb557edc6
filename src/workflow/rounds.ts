/**
 * Whether a dependent job's next round is due (SPEC §16). Pure: from the job's last round and
 * its parents' completions, at a given time.
 *
 * AND over the parents: the round is due when every parent has a completion of the kind its
 * dependency names, later than the one the last round consumed (the baseline's time for a
 * parent not consumed yet), and not older than the window. The latest such completion of each
 * parent is consumed; earlier ones are passed over with it.
 */
import type { Dependency, DependencySpec, Millis } from '../core/types.js';
import { counts, type Completion } from './completions.js';

/** What the store keeps of the job's newest round (see DependencyRound). */
export interface LastRound {
  round: number;
  firedAt: Millis;
  parents: Readonly<Record<string, { completedAt: Millis }>>;
}

/** One parent as the round sees it: what it waits for, since when, and the completion found. */
export interface ParentState {
  dependency: Dependency;
  /** Completions at or before this time do not count. */
  since: Millis;
  completion: Completion | null;
}

export interface RoundState {
  /** The number the next round is claimed under. */
  round: number;
  due: boolean;
  parents: ParentState[];
}

/** The time after which a parent's completion counts for the next round. */
export function countsAfter(last: LastRound, parent: string, windowMs: number, now: Millis): Millis {
  const consumed = last.parents[parent]?.completedAt ?? last.firedAt;
  return Math.max(consumed, now - windowMs);
}

export function evaluateRound(
  spec: DependencySpec,
  last: LastRound,
  completions: ReadonlyMap<string, readonly Completion[]>,
  now: Millis,
): RoundState {
  const parents = spec.parents.map((dependency): ParentState => {
    const since = countsAfter(last, dependency.job, spec.windowMs, now);
    const found = (completions.get(dependency.job) ?? []).filter(
      (c) => c.completedAt > since && counts(c, dependency),
    );
    const completion = found.reduce<Completion | null>(
      (latest, c) => (latest === null || c.completedAt > latest.completedAt ? c : latest),
      null,
    );
    return { dependency, since, completion };
  });
  return { round: last.round + 1, due: parents.every((p) => p.completion !== null), parents };
}
