/** What the API and `distcron next` show of a job's dependencies (SPEC §16): parents, children, the round. */
import { isoUtc, type Dependency, type JobDef } from '../core/types.js';
import type { DependencyRounds } from './dependencies.js';

export interface ParentView extends Dependency {
  /** Completions at or before this time do not count for the next round (consumed, or out of the window). */
  countsAfter: string;
  /** The completion that counts, or null while the job waits for this parent. */
  completion: {
    executionId: string;
    completedAt: string;
    runIds: string[];
    hosts: number;
    succeeded: number;
  } | null;
}

export interface DependencyView {
  job: string;
  /** The jobs this one runs after, with what each must do. */
  after: Dependency[];
  windowMs: number | null;
  /** The loaded jobs that run after this one. */
  children: string[];
  /** The round that fires next (null for a job without `after`), and when the last one fired. */
  round: number | null;
  lastFiredAt: string | null;
  parents: ParentView[];
  /** Parents without a completion that counts yet. */
  waitingFor: string[];
}

export async function dependencyViewOf(
  job: JobDef,
  rounds: Pick<DependencyRounds, 'childrenOf' | 'explain'>,
): Promise<DependencyView> {
  const explained = await rounds.explain(job.name);
  const parents = (explained?.state.parents ?? []).map(({ dependency, since, completion }): ParentView => ({
    ...dependency,
    countsAfter: isoUtc(since),
    completion: completion && {
      ...completion,
      completedAt: isoUtc(completion.completedAt),
    },
  }));
  return {
    job: job.name,
    after: [...(job.after?.parents ?? [])],
    windowMs: job.after?.windowMs ?? null,
    children: [...rounds.childrenOf(job.name)],
    round: explained?.round ?? null,
    lastFiredAt: explained ? isoUtc(explained.lastFiredAt) : null,
    parents,
    waitingFor: parents.filter((p) => p.completion === null).map((p) => p.job),
  };
}
