import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import { isoUtc, type JobDef, type NodeDef, type RunRecord } from '../core/types.js';
import type { Executor } from '../exec/executor.js';
import { runVariables } from '../exec/job-env.js';
import { orderForAny, selectCandidates, type NodeLoad, type PlacementHistory } from '../placement/index.js';
import type { LiveOutput } from './live-output.js';
import type { NodeHealthTracker } from './node-health.js';
import type { NodeSlotGate } from './node-slots.js';
import type { ResourceBroker } from './resource-broker.js';
import { failedWithoutStart, withOutcome } from './run-records.js';
import type { StartFields } from './run-journal.js';

/** Everything one attempt needs from the daemon; shared by all attempts. */
export interface AttemptContext {
  executor: Executor;
  clock: Clock;
  logger: Logger;
  health: NodeHealthTracker;
  nodes: () => ReadonlyMap<string, NodeDef>;
  /** Per-node slots for `max_concurrent_runs`, held cluster-wide (node-slots.ts). */
  slots: NodeSlotGate;
  load: (node: string) => NodeLoad;
  /** Re-reads the nodes' cluster-wide loads before an `any` placement. */
  refreshLoads?: () => Promise<void>;
  noteStart: (node: string) => void;
  noteEnd: (node: string) => void;
  roundRobin: Map<string, number>;
  /** Which node each job used last (least_loaded ties). */
  placements: PlacementHistory;
  random: () => number;
  outputLimitBytes: number;
  defaultTimeoutMs?: number;
  /** Records that a run's command is starting (node, host, started_at). */
  recordStart: (id: string, fields: StartFields) => void;
  /** Live output of the runs executing here (followers, stored chunks). */
  liveOutput?: LiveOutput;
  /** Shared resource pools (SPEC §16); absent: jobs' "resources" are not enforced (tests). */
  resources?: ResourceBroker;
}

export type AttemptTarget = { kind: 'any'; avoid: ReadonlySet<string> } | { kind: 'node'; node: NodeDef };

export interface AttemptInput {
  job: JobDef;
  run: RunRecord;
  target: AttemptTarget;
  environment: Record<string, string>;
  signal: AbortSignal;
}

type NodeResult = { kind: 'done'; record: RunRecord } | { kind: 'connect_failed'; error: string };

/**
 * Runs one attempt to its final record: picks nodes (any: in placement order, moving on when
 * connecting fails — that is failover, not a retry), waits for a node slot within the job's
 * timeout, executes, and reports node health.
 */
export async function executeAttempt(ctx: AttemptContext, input: AttemptInput): Promise<RunRecord> {
  const timeoutMs = input.job.timeoutMs ?? ctx.defaultTimeoutMs;
  const deadline = timeoutMs === undefined ? null : ctx.clock.now() + timeoutMs;
  if (input.target.kind === 'any') await ctx.refreshLoads?.();
  const order =
    input.target.kind === 'node' ? [input.target.node] : anyOrder(ctx, input.job, input.target.avoid);
  if (order.length === 0)
    return failedWithoutStart(input.run, 'error', noNodeUpReason(ctx, input.job), ctx.clock.now());
  const errors: string[] = [];
  for (const node of order) {
    const result = await runOnNode(ctx, input, node, deadline);
    if (result.kind === 'done') return result.record;
    ctx.health.markDown(node.name, result.error);
    errors.push(result.error);
    if (input.signal.aborted) break;
  }
  const error = errors.length === 1 ? errors[0]! : `every candidate failed to connect: ${errors.join('; ')}`;
  return failedWithoutStart(
    { ...input.run, node: order.length === 1 ? order[0]!.name : null },
    'error',
    error,
    ctx.clock.now(),
  );
}

function anyOrder(ctx: AttemptContext, job: JobDef, avoid: ReadonlySet<string>): NodeDef[] {
  const { nodes } = selectCandidates(job, ctx.nodes());
  const result = orderForAny({
    candidates: nodes,
    placement: job.policy.placement,
    load: ctx.load,
    roundRobinCursor: ctx.roundRobin.get(job.name) ?? 0,
    random: ctx.random,
    jobLastUse: (node) => ctx.placements.lastUse(job.name, node),
    avoid,
  });
  ctx.roundRobin.set(job.name, result.nextRoundRobinCursor);
  return result.order;
}

function noNodeUpReason(ctx: AttemptContext, job: JobDef): string {
  const { nodes, reason } = selectCandidates(job, ctx.nodes());
  if (reason) return reason;
  const down = nodes.map((n) => `${n.name} (${ctx.health.view(n.name).lastError ?? 'down'})`);
  return `no candidate node is up: ${down.join(', ')}`;
}

async function runOnNode(
  ctx: AttemptContext,
  input: AttemptInput,
  node: NodeDef,
  deadline: number | null,
): Promise<NodeResult> {
  ctx.noteStart(node.name);
  ctx.placements.note(input.job.name, node.name);
  try {
    return await withResources(ctx, input, node, deadline, (after) => runInSlot(ctx, input, node, after));
  } finally {
    ctx.noteEnd(node.name);
  }
}

/**
 * The run's resource pools are taken once its node is known (per-host pools) and before it
 * waits for a node slot, so a run waiting for a pool never keeps a slot from other jobs. The
 * timeout counts from the command's start: a wait for resources does not eat into it.
 */
async function withResources(
  ctx: AttemptContext,
  input: AttemptInput,
  node: NodeDef,
  deadline: number | null,
  body: (deadline: number | null) => Promise<NodeResult>,
): Promise<NodeResult> {
  if (!ctx.resources || !input.job.resources) return body(deadline);
  const request = { job: input.job, run: input.run, node: node.name, signal: input.signal };
  const held = await ctx.resources.acquire(request, ctx.defaultTimeoutMs);
  if (!held.ok) {
    const run = { ...input.run, node: node.name };
    return { kind: 'done', record: failedWithoutStart(run, held.status, held.error, ctx.clock.now()) };
  }
  try {
    const timeoutMs = input.job.timeoutMs ?? ctx.defaultTimeoutMs;
    return await body(timeoutMs === undefined ? deadline : ctx.clock.now() + timeoutMs);
  } finally {
    await held.release();
  }
}

async function runInSlot(
  ctx: AttemptContext,
  input: AttemptInput,
  node: NodeDef,
  deadline: number | null,
): Promise<NodeResult> {
  const waited = await waitForSlot(ctx, input, node, deadline);
  if (waited) return { kind: 'done', record: waited };
  try {
    return await execOnNode(ctx, input, node, deadline);
  } finally {
    await ctx.slots.release(node, input.run.id);
  }
}

/** Null once a slot is held; otherwise the final record (cancelled, or timed out while waiting). */
async function waitForSlot(
  ctx: AttemptContext,
  input: AttemptInput,
  node: NodeDef,
  deadline: number | null,
): Promise<RunRecord | null> {
  const stop = new AbortController();
  const waitSignal = AbortSignal.any([input.signal, stop.signal]);
  if (deadline !== null) {
    void ctx.clock.sleep(deadline - ctx.clock.now(), waitSignal).then(() => stop.abort());
  }
  const acquired = await ctx.slots.acquire(node, input.run.id, waitSignal);
  stop.abort();
  if (acquired) return null;
  const run = { ...input.run, node: node.name };
  if (input.signal.aborted)
    return failedWithoutStart(run, 'cancelled', abortReason(input.signal), ctx.clock.now());
  const why = `timed out waiting for a free slot on node ${node.name} (max_concurrent_runs ${node.maxConcurrentRuns})`;
  return failedWithoutStart(run, 'timed_out', why, ctx.clock.now());
}

async function execOnNode(
  ctx: AttemptContext,
  input: AttemptInput,
  node: NodeDef,
  deadline: number | null,
): Promise<NodeResult> {
  const remaining = deadline === null ? undefined : Math.max(1, deadline - ctx.clock.now());
  const { job, run } = input;
  const outcome = await ctx.executor.run(node, {
    runId: run.id,
    job: job.name,
    command: job.command,
    environment: { ...input.environment, ...runVariables({ runId: run.id, job: job.name, node: node.name }) },
    workingDirectory: job.workingDirectory,
    timeoutMs: remaining,
    signal: input.signal,
    outputLimitBytes: ctx.outputLimitBytes,
    onStart: (startedAt, host) =>
      ctx.recordStart(run.id, { node: node.name, host, started_at: isoUtc(startedAt) }),
    onOutput: ctx.liveOutput
      ? (stream, chunk) => ctx.liveOutput!.push(run.id, node.name, ctx.outputLimitBytes, stream, chunk)
      : undefined,
  });
  if (outcome.connectFailed && !input.signal.aborted)
    return { kind: 'connect_failed', error: outcome.error ?? 'connection failed' };
  if (!outcome.connectFailed) ctx.health.markUp(node.name);
  const record = withOutcome(run, outcome, node.name);
  if (record.status === 'cancelled') {
    // Say who cancelled (API, shutdown) first; keep the executor's detail of what it killed.
    record.error = record.error
      ? `${abortReason(input.signal)} (${record.error})`
      : abortReason(input.signal);
  }
  return { kind: 'done', record };
}

export function abortReason(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : 'cancelled';
}
