import { newId } from '../core/ids.js';
import { isoUtc, type Millis, type RunRecord, type RunStatus, type Trigger } from '../core/types.js';
import type { ExecOutcome } from '../exec/executor.js';

export interface NewRun {
  executionId: string;
  job: string;
  node: string | null;
  trigger: Trigger;
  attempt: number;
  scheduledAt: Millis | null;
  now: Millis;
  parameters?: Record<string, string> | null;
  requestedBy?: string | null;
  /** A dependency fire's parent runs (SPEC §16). */
  parentRuns?: string[] | null;
  scriptSha256?: string | null;
  /** The member executing the run (SPEC §15). */
  member?: string | null;
}

/** A run that is about to execute (or wait for a slot): status `running`, not started yet. */
export function pendingRun(r: NewRun): RunRecord {
  return {
    id: newId(r.now),
    execution_id: r.executionId,
    job: r.job,
    node: r.node,
    host: null,
    trigger: r.trigger,
    attempt: r.attempt,
    scheduled_at: r.scheduledAt === null ? null : isoUtc(r.scheduledAt),
    started_at: null,
    finished_at: null,
    duration_ms: null,
    status: 'running',
    exit_code: null,
    signal: null,
    stdout: '',
    stderr: '',
    output_truncated: false,
    error: null,
    parameters: r.parameters ?? null,
    requestedBy: r.requestedBy ?? null,
    parentRuns: r.parentRuns ?? null,
    scriptSha256: r.scriptSha256 ?? null,
    member: r.member ?? null,
  };
}

/** A run that is final the moment it is recorded (skipped, missed, node down, no candidate). */
export function finalRun(r: NewRun, status: RunStatus, error: string): RunRecord {
  return { ...pendingRun(r), status, error, finished_at: isoUtc(r.now), duration_ms: 0 };
}

export function withOutcome(run: RunRecord, outcome: ExecOutcome, node: string | null): RunRecord {
  const startedAt = outcome.startedAt;
  return {
    ...run,
    node,
    host: outcome.host ?? run.host,
    started_at: startedAt === null ? run.started_at : isoUtc(startedAt),
    finished_at: isoUtc(outcome.finishedAt),
    duration_ms: startedAt === null ? 0 : Math.max(0, outcome.finishedAt - startedAt),
    status: outcome.status,
    exit_code: outcome.exitCode,
    signal: outcome.signal,
    stdout: outcome.stdout,
    stderr: outcome.stderr,
    output_truncated: outcome.outputTruncated,
    error: outcome.error,
  };
}

export function failedWithoutStart(run: RunRecord, status: RunStatus, error: string, now: Millis): RunRecord {
  return { ...run, status, error, finished_at: isoUtc(now), duration_ms: 0 };
}

export const RETRYABLE: ReadonlySet<RunStatus> = new Set(['failed', 'timed_out', 'error']);

/**
 * The one new attempt of a run recorded lost whose job opts in (`rerun_lost`): the same
 * execution, the next attempt, queued for any member (an `all` run stays on its node; an `any`
 * run is placed anew). Its claim key (node, or "*" for `any`) keeps it to one (SPEC §15).
 */
export function rerunOfLost(
  lost: RunRecord,
  job: { rerunLost?: boolean; policy: { select: 'any' | 'all' } } | undefined,
  now: Millis,
): { run: RunRecord; nodeKey: string } | null {
  if (job?.rerunLost !== true) return null;
  const onNode = job.policy.select === 'all' ? lost.node : null;
  const run = pendingRun({
    executionId: lost.execution_id,
    job: lost.job,
    node: onNode,
    trigger: 'retry',
    attempt: lost.attempt + 1,
    scheduledAt: lost.scheduled_at === null ? null : Date.parse(lost.scheduled_at),
    now,
    parameters: lost.parameters ?? null,
    requestedBy: lost.requestedBy ?? null,
    scriptSha256: lost.scriptSha256 ?? null,
  });
  return { run, nodeKey: onNode ?? '*' };
}
