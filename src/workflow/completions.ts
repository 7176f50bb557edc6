/**
 * When an execution of a parent job has completed, and how (SPEC §16). Pure: from the runs of
 * the execution as stored.
 *
 * An execution is complete when each of its host runs has its final attempt recorded: no run is
 * `running` and none waits for a retry (a retryable failure with attempts left). Executions of
 * only skipped or missed records are not completions: nothing ran.
 */
import type { Dependency, Millis, RunRecord, RunStatus } from '../core/types.js';

/** One finished execution of a parent. */
export interface Completion {
  executionId: string;
  /** When its last host run finished. */
  completedAt: Millis;
  /** Host runs (their last attempts) and how many of them succeeded. */
  hosts: number;
  succeeded: number;
  /** The last attempt of each host run: what a dependency fire records as its parent runs. */
  runIds: string[];
}

/** What of the parent's definition decides whether a failed attempt is retried. */
export interface RetryPolicy {
  retries: number;
}

const RETRYABLE: ReadonlySet<RunStatus> = new Set(['failed', 'timed_out', 'error']);
const NOT_RUN: ReadonlySet<RunStatus> = new Set(['skipped', 'missed']);

/** The complete executions among `runs` (any order), oldest completion first. */
export function completionsOf(runs: readonly RunRecord[], policy: RetryPolicy): Completion[] {
  const byExecution = new Map<string, RunRecord[]>();
  for (const run of runs) {
    const list = byExecution.get(run.execution_id);
    if (list) list.push(run);
    else byExecution.set(run.execution_id, [run]);
  }
  const completions: Completion[] = [];
  for (const [executionId, list] of byExecution) {
    const completion = completionOf(executionId, list, policy);
    if (completion) completions.push(completion);
  }
  return completions.sort((a, b) => a.completedAt - b.completedAt);
}

function completionOf(executionId: string, runs: RunRecord[], policy: RetryPolicy): Completion | undefined {
  if (runs.some((r) => r.status === 'running' || r.finished_at === null)) return undefined;
  if (runs.every((r) => NOT_RUN.has(r.status))) return undefined;
  const heads = lastAttempts(runs);
  if (heads.some((r) => RETRYABLE.has(r.status) && r.attempt <= policy.retries)) return undefined;
  return {
    executionId,
    completedAt: Math.max(...heads.map((r) => Date.parse(r.finished_at!))),
    hosts: heads.length,
    succeeded: heads.filter((r) => r.status === 'succeeded').length,
    runIds: heads.map((r) => r.id),
  };
}

/**
 * The last attempt of each host run. An `any` execution is one unit whose retries may move to
 * another node (one first attempt); units pinned to nodes (`all`, or a manual run on chosen
 * nodes) keep their node across retries.
 */
function lastAttempts(runs: RunRecord[]): RunRecord[] {
  const units = runs.filter((r) => r.attempt === 1).length;
  const keyOf = units <= 1 ? () => '*' : (r: RunRecord) => r.node ?? '*';
  const heads = new Map<string, RunRecord>();
  for (const run of runs) {
    const key = keyOf(run);
    const seen = heads.get(key);
    if (!seen || run.attempt > seen.attempt) heads.set(key, run);
  }
  return [...heads.values()];
}

/**
 * Whether a completion is of the kind a dependency waits for. `hosts: all`: succeeded when every
 * host run did; `any`: when at least one did. `failure` is the opposite of that; `done` is either.
 */
export function counts(completion: Completion, dependency: Pick<Dependency, 'on' | 'hosts'>): boolean {
  if (dependency.on === 'done') return true;
  const succeeded =
    dependency.hosts === 'any' ? completion.succeeded > 0 : completion.succeeded === completion.hosts;
  return dependency.on === 'success' ? succeeded : !succeeded;
}
