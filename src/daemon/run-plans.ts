import { newId } from '../core/ids.js';
import type { Clock } from '../core/clock.js';
import type { JobDef, Millis, NodeDef, RunRecord, Trigger } from '../core/types.js';
import { selectCandidates } from '../placement/index.js';
import type { QueueActivity, QueueEntry, TakenExecution } from '../store/async-store.js';
import type { FireClaim, OutboxEntry } from '../store/store.js';
import type { AttemptTarget } from './attempt.js';
import type { JobTable } from './job-table.js';
import type { NodeHealthTracker } from './node-health.js';
import { queueEntryOf } from './queued-job.js';
import { failedWithoutStart, finalRun, pendingRun, type NewRun } from './run-records.js';

/** One run of an execution and where it may run (one per node for `all`, one for `any`). */
export interface Unit {
  run: RunRecord;
  target: AttemptTarget;
  nodeKey: string;
}

export interface Execution {
  job: JobDef;
  units: Unit[];
  /** The job's environment with the run's parameter values on top. */
  environment: Record<string, string>;
}

/** A fire's runs ready to claim, and what to do once the claim is stored. */
export interface PreparedClaim {
  claim: FireClaim;
  /** Runs inserted already final (skipped, missed, node down, no candidate). */
  finals: RunRecord[];
  /** The runs that execute (null for a skipped or missed instant). */
  execution: Execution | null;
  afterPrevious: boolean;
}

/** A manual run the control already checked: nodes are candidates, parameters resolved. */
export interface ManualRun {
  nodes?: NodeDef[];
  parameters: Record<string, string>;
  requestedBy: string | null;
  /** Default `manual`; `adhoc` for a one-off command (src/daemon/adhoc.ts). */
  trigger?: Trigger;
}

/** What every run of one execution records about why and with what it ran. */
interface RunFacts {
  parameters: Record<string, string>;
  requestedBy: string | null;
  parentRuns?: string[];
}

/** A dependency fire's runs ready to store with its round's claim (see Runner.fireDependency). */
export interface DependencyPlan {
  executionId: string;
  runs: RunRecord[];
  /** The runs final at once (skipped, node down, no candidate), and their outbox. */
  finals: RunRecord[];
  outbox: OutboxEntry[];
  /** Present when runs wait for a member to take them. */
  queue?: QueueEntry;
}

/**
 * Why the overlap policy skips a fire, or null when it may run: `activity` counts the job's
 * executions queued or running on any member.
 */
function overlapSkip(job: JobDef, activity: QueueActivity): string | null {
  if (activity.executions === 0) return null;
  if (job.overlap === 'skip') return 'previous run still running (overlap: skip)';
  if (job.overlap === 'queue' && activity.waiting > 0) return 'a run is already queued (overlap: queue)';
  return null;
}

export interface RunPlansContext {
  clock: Clock;
  health: NodeHealthTracker;
  nodes: () => ReadonlyMap<string, NodeDef>;
  outboxFor: (run: RunRecord, job: JobDef | undefined) => OutboxEntry[];
  jobs: Pick<JobTable, 'running' | 'isQueued'>;
  /** The member that executes the runs (`runs.member`, SPEC §15). */
  member?: string;
}

/**
 * Builds the records of fires, manual runs and retries before they are stored: which runs an
 * execution has (one per node for `all`, one for `any`), which are final at once (node down, no
 * candidate, overlap skip, missed) and the outbox entries of those. Nothing here writes.
 */
export class RunPlans {
  constructor(private readonly ctx: RunPlansContext) {}

  /**
   * One fire, after the overlap policy: a `skipped` run while a previous one is still running
   * or queued on any member (`activity`: the job's executions in the run queue).
   */
  fireClaim(
    job: JobDef,
    at: Millis,
    trigger: Trigger,
    advanceTo: Millis,
    activity: QueueActivity,
  ): PreparedClaim {
    const skip = overlapSkip(job, activity);
    if (skip) return this.finalClaim(job, at, advanceTo, 'skipped', skip);
    return this.executionClaim(
      job,
      at,
      trigger,
      advanceTo,
      activity.executions > 0 && job.overlap === 'queue',
    );
  }

  executionClaim(
    job: JobDef,
    at: Millis,
    trigger: Trigger,
    advanceTo: Millis,
    afterPrevious: boolean,
  ): PreparedClaim {
    const executionId = newId(this.ctx.clock.now());
    const candidates = selectCandidates(job, this.ctx.nodes());
    const execution = this.buildExecution(job, candidates.reason ?? candidates.nodes, {
      executionId,
      trigger,
      scheduledAt: at,
    });
    const finals = execution.units.filter((u) => u.run.status !== 'running').map((u) => u.run);
    const outbox = finals.flatMap((run) => this.ctx.outboxFor(run, job));
    const runs = execution.units.map((u) => ({ run: u.run, nodeKey: u.nodeKey }));
    execution.units = execution.units.filter((u) => u.run.status === 'running');
    const queue = execution.units.length > 0 ? queueEntryOf(job, executionId, afterPrevious) : undefined;
    const claim = { job: job.name, scheduledAt: at, advanceTo, runs, outbox, queue };
    return { claim, finals, execution, afterPrevious };
  }

  finalClaim(
    job: JobDef,
    at: Millis,
    advanceTo: Millis,
    status: 'skipped' | 'missed',
    error: string,
  ): PreparedClaim {
    const run = finalRun(this.newRun(job, newId(this.ctx.clock.now()), null, 'schedule', at), status, error);
    const claim = { job: job.name, scheduledAt: at, advanceTo, runs: [{ run, nodeKey: '*' }] };
    return {
      claim: { ...claim, outbox: this.ctx.outboxFor(run, job) },
      finals: [run],
      execution: null,
      afterPrevious: false,
    };
  }

  /**
   * A dependency fire (SPEC §16): placed and overlap-checked like a scheduled fire, without a
   * scheduled instant, recording the parent runs that completed its round.
   */
  /**
   * A dependent job's fire (SPEC §16), after the overlap policy like a scheduled fire; its
   * queue entry, when a run waits for a member, commits with the round's claim.
   */
  dependencyPlan(job: JobDef, parentRuns: string[], activity: QueueActivity): DependencyPlan {
    const executionId = newId(this.ctx.clock.now());
    const facts = { ...scheduledFacts(job), parentRuns };
    const how = { executionId, trigger: 'dependency' as const, scheduledAt: null, facts };
    const skip = overlapSkip(job, activity);
    if (skip) {
      const record = {
        ...this.newRun(job, executionId, null, 'dependency', null),
        ...recordedFacts(job, facts),
      };
      const run = finalRun(record, 'skipped', skip);
      const outbox = this.ctx.outboxFor(run, job);
      return { executionId, runs: [run], outbox, finals: [run] };
    }
    const execution = this.buildExecution(job, this.manualTargets(job), how);
    const runs = execution.units.map((u) => u.run);
    const finals = runs.filter((run) => run.status !== 'running');
    const afterPrevious = activity.executions > 0 && job.overlap === 'queue';
    const waiting = runs.length > finals.length;
    const outbox = finals.flatMap((run) => this.ctx.outboxFor(run, job));
    const queue = waiting ? queueEntryOf(job, executionId, afterPrevious) : undefined;
    return { executionId, runs, outbox, finals, queue };
  }

  /** A manual run (API/CLI): always allowed to overlap — an operator asked for it explicitly. */
  manualExecution(job: JobDef, options: ManualRun): Execution & { executionId: string } {
    const executionId = newId(this.ctx.clock.now());
    const nodes = options.nodes ?? this.manualTargets(job);
    const execution = this.buildExecution(job, nodes, {
      executionId,
      trigger: options.trigger ?? 'manual',
      scheduledAt: null,
      pinned: options.nodes !== undefined,
      facts: { parameters: options.parameters, requestedBy: options.requestedBy },
    });
    return { ...execution, executionId };
  }

  /**
   * An execution taken from the run queue, as this member runs it: each run to its node (any:
   * placed now); `job` is the member's definition, or why it has none (every run an error).
   */
  takenExecution(taken: TakenExecution, job: JobDef | string): Execution {
    const now = this.ctx.clock.now();
    const cancelled = cancelledRuns(taken, now);
    if (cancelled)
      return {
        job: typeof job === 'string' ? placeholderJob(taken.job) : job,
        units: cancelled,
        environment: {},
      };
    if (typeof job === 'string') {
      const units = taken.runs.map((run) => ({ ...anyUnit(failedWithoutStart(run, 'error', job, now)) }));
      return { job: placeholderJob(taken.job), units, environment: {} };
    }
    const nodes = this.ctx.nodes();
    const units = taken.runs.map((run) => takenUnit(run, nodes, now));
    const parameters = taken.runs[0]?.parameters ?? scheduledFacts(job).parameters;
    return { job, units, environment: environmentOf(job, parameters) };
  }

  /** The next attempt of a unit: a `retry` run of the same execution (retries prefer another node). */
  retryRun(job: JobDef, previous: RunRecord, unit: Unit): RunRecord {
    const scheduledAt = previous.scheduled_at === null ? null : Date.parse(previous.scheduled_at);
    const node = unit.target.kind === 'node' ? unit.target.node.name : null;
    return {
      ...pendingRun({
        ...this.newRun(job, previous.execution_id, node, 'retry', scheduledAt),
        parameters: previous.parameters ?? null,
        requestedBy: previous.requestedBy ?? null,
        parentRuns: previous.parentRuns ?? null,
      }),
      attempt: previous.attempt + 1,
    };
  }

  private manualTargets(job: JobDef): NodeDef[] | string {
    const { nodes, reason } = selectCandidates(job, this.ctx.nodes());
    return reason ?? nodes;
  }

  /**
   * Units for the nodes (all, or a node pinned by a manual run: one per node, down ones recorded
   * as errors; any: one), or one error run.
   */
  private buildExecution(
    job: JobDef,
    nodes: NodeDef[] | string,
    how: {
      executionId: string;
      trigger: Trigger;
      scheduledAt: Millis | null;
      pinned?: boolean;
      facts?: RunFacts;
    },
  ): Execution {
    const facts = how.facts ?? scheduledFacts(job);
    const make = (node: string | null) => ({
      ...this.newRun(job, how.executionId, node, how.trigger, how.scheduledAt),
      ...recordedFacts(job, facts),
    });
    const execution: Execution = { job, units: [], environment: environmentOf(job, facts.parameters) };
    if (typeof nodes === 'string') {
      execution.units.push({
        run: finalRun(make(null), 'error', nodes),
        target: { kind: 'any', avoid: new Set() },
        nodeKey: '*',
      });
    } else if (job.policy.select === 'any' && !how.pinned) {
      execution.units.push({
        run: pendingRun(make(null)),
        target: { kind: 'any', avoid: new Set() },
        nodeKey: '*',
      });
    } else {
      execution.units = nodes.map((node) => this.unitForNode(make(node.name), node));
    }
    // A queued run belongs to no member until one takes it (SPEC §15: `member` executed it).
    for (const unit of execution.units) if (unit.run.status === 'running') unit.run.member = null;
    return execution;
  }

  private unitForNode(r: NewRun, node: NodeDef): Unit {
    const target: AttemptTarget = { kind: 'node', node };
    if (this.ctx.health.isUp(node.name)) return { run: pendingRun(r), target, nodeKey: node.name };
    const why = `node down: ${this.ctx.health.view(node.name).lastError ?? 'unreachable'}`;
    return { run: finalRun(r, 'error', why), target, nodeKey: node.name };
  }

  private newRun(
    job: JobDef,
    executionId: string,
    node: string | null,
    trigger: Trigger,
    scheduledAt: Millis | null,
  ): NewRun {
    const scriptSha256 = job.command.kind === 'script' ? job.command.sha256 : null;
    const now = this.ctx.clock.now();
    const member = this.ctx.member ?? null;
    return { executionId, job: job.name, node, trigger, attempt: 1, scheduledAt, now, scriptSha256, member };
  }
}

function anyUnit(run: RunRecord): Unit {
  return { run, target: { kind: 'any', avoid: new Set() }, nodeKey: '*' };
}

/**
 * A cancel asked of any run of a taken execution cancels all of it, never started: as a cancel
 * of a run executing here aborts its whole execution (the runs share one abort signal).
 */
function cancelledRuns(taken: TakenExecution, now: Millis): Unit[] | null {
  const reason = taken.cancels[0]?.reason;
  if (reason === undefined) return null;
  return taken.runs.map((run) => ({ ...anyUnit(failedWithoutStart(run, 'cancelled', reason, now)) }));
}

/** A taken run: `any` (no node yet) is placed when it starts; a node no longer configured here is an error. */
function takenUnit(run: RunRecord, nodes: ReadonlyMap<string, NodeDef>, now: Millis): Unit {
  if (run.node === null) return anyUnit(run);
  const node = nodes.get(run.node);
  if (!node) {
    const why = `node ${run.node} is not in the configuration of member ${run.member ?? '(this)'}`;
    return { ...anyUnit(failedWithoutStart(run, 'error', why, now)), nodeKey: run.node };
  }
  return { run, target: { kind: 'node', node }, nodeKey: run.node };
}

/** The job an execution names when this member has no definition of it (its runs become errors). */
function placeholderJob(name: string): JobDef {
  return {
    name,
    file: '',
    owners: [],
    policy: { select: 'any', rolesMatch: 'any', labels: {}, placement: 'least_loaded' },
    schedule: { kind: 'manual' },
    command: { kind: 'argv', argv: ['true'] },
    environment: {},
    parameters: {},
    retries: { count: 0, delayMs: 0 },
    overlap: 'allow',
    catchUp: 'skip',
    notify: { on: [], email: [], webhooks: [] },
    tags: [],
    enabled: true,
  };
}

/** Scheduled and catch-up runs have nobody to ask: the declared defaults. */
function scheduledFacts(job: JobDef): RunFacts {
  const parameters: Record<string, string> = {};
  for (const [name, spec] of Object.entries(job.parameters))
    if (spec.default !== undefined) parameters[name] = spec.default;
  return { parameters, requestedBy: null };
}

/** A job that declares no parameters records none (null), not an empty object. */
function recordedFacts(
  job: JobDef,
  facts: RunFacts,
): Pick<NewRun, 'parameters' | 'requestedBy' | 'parentRuns'> {
  const declares = Object.keys(job.parameters).length > 0;
  const parameters = declares ? facts.parameters : null;
  return { parameters, requestedBy: facts.requestedBy, parentRuns: facts.parentRuns ?? null };
}

export function environmentOf(job: JobDef, parameters: Record<string, string>): Record<string, string> {
  return Object.keys(parameters).length === 0 ? job.environment : { ...job.environment, ...parameters };
}
