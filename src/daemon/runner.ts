import { setMaxListeners } from 'node:events';
import { newId } from '../core/ids.js';
import type { Metrics } from '../core/metrics.js';
import type { JobDef, Millis, NodeDef, RunRecord, Trigger } from '../core/types.js';
import { PlacementHistory, selectCandidates } from '../placement/index.js';
import type { FireClaim, OutboxEntry } from '../store/store.js';
import { abortReason, executeAttempt, type AttemptContext, type AttemptTarget } from './attempt.js';
import { describeMissed, type FirePlan } from './catch-up.js';
import { Limiter } from './limiter.js';
import { finalRun, pendingRun, RETRYABLE, type NewRun } from './run-records.js';
import { JobActivity } from './job-activity.js';
import type { JobTable } from './job-table.js';
import { RunJournal } from './run-journal.js';

export interface RunnerOptions extends Omit<AttemptContext, 'recordStart' | 'placements'> {
  metrics: Metrics;
  /** Outbox entries queued with a final run (Elasticsearch, notifications). */
  outboxFor: (run: RunRecord, job: JobDef | undefined) => OutboxEntry[];
  /** Owner of each job's executions in flight and last outcome: the runner reports both to it. */
  jobs: Pick<
    JobTable,
    | 'running'
    | 'isQueued'
    | 'executionStarted'
    | 'executionEnded'
    | 'queueEntered'
    | 'queueLeft'
    | 'runFinished'
  >;
  /** After a run's outcome is stored and the job table has it (the outbox has news). */
  onFinished?: (run: RunRecord) => void;
}

interface Unit {
  run: RunRecord;
  target: AttemptTarget;
  nodeKey: string;
}

interface Execution {
  job: JobDef;
  units: Unit[];
  /** The job's environment with the run's parameter values on top. */
  environment: Record<string, string>;
}

/** A fire's runs ready to claim, and what to do once the claim is stored. */
interface PreparedClaim {
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
}

const SHUTDOWN_REASON = 'cancelled: daemon shutting down';
/** At shutdown, how long run writes that fail (store locked, disk full) are retried before exit. */
const JOURNAL_SETTLE_MS = 15_000;

/**
 * Turns fires into runs: claims each (job, instant, node) once, applies the overlap policy,
 * executes units (one per node for `all`, one for `any`) with retries, and records every outcome.
 */
export class Runner {
  private readonly activity: JobActivity;
  private readonly controllers = new Map<string, AbortController>();
  private readonly executions = new Set<Promise<void>>();
  private readonly waiters = new Map<string, ((run: RunRecord) => void)[]>();
  private readonly shutdown = this.shutdownController();
  private readonly journal: RunJournal;
  private readonly attempts: AttemptContext;
  private draining = false;

  constructor(private readonly ctx: RunnerOptions) {
    this.journal = new RunJournal(ctx.store, ctx.logger);
    this.activity = new JobActivity(ctx.jobs);
    this.attempts = {
      ...ctx,
      placements: new PlacementHistory(),
      recordStart: (id, fields) => this.journal.markStarted(id, fields),
    };
  }

  /** Every execution listens on the shutdown signal: hundreds at once is expected, not a leak. */
  private shutdownController(): AbortController {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    return controller;
  }

  /**
   * Carries out a plan of the scheduler: its `missed` run and every fire are claimed in one
   * transaction (all or nothing), then what was claimed starts. A catch-up series runs one fire
   * after another. Throws, having claimed nothing, when the store fails: the scheduler retries.
   */
  firePlan(job: JobDef, plan: FirePlan, advanceTo: Millis): void {
    if (this.draining) return;
    const prepared: PreparedClaim[] = [];
    if (plan.missed)
      prepared.push(this.finalClaim(job, plan.missed.at, advanceTo, 'missed', describeMissed(plan.missed)));
    const series = plan.fires.length > 1;
    for (const { at, late } of plan.fires) {
      const trigger = late ? 'catch_up' : 'schedule';
      prepared.push(
        series
          ? this.executionClaim(job, at, trigger, advanceTo, true)
          : this.fireClaim(job, at, trigger, advanceTo),
      );
    }
    if (prepared.length === 0) return;
    this.journal.flush();
    const taken = this.ctx.store.claimFires(prepared.map((p) => p.claim));
    prepared.forEach((p, i) => (taken[i] ? this.claimed(p) : this.alreadyClaimed(p.claim)));
    // Only once the claims are stored: a refused claim is retried and would be counted twice.
    if (!series) for (const { at } of plan.fires) this.observeLateness(at);
  }

  private observeLateness(at: Millis): void {
    this.ctx.metrics.scheduleLateness.observe(Math.max(0, this.ctx.clock.now() - at) / 1000);
  }

  /** One fire, after the overlap policy: a `skipped` run while a previous one is still running. */
  private fireClaim(job: JobDef, at: Millis, trigger: Trigger, advanceTo: Millis): PreparedClaim {
    const busy = this.ctx.jobs.running(job.name) > 0;
    if (busy && job.overlap === 'skip')
      return this.finalClaim(job, at, advanceTo, 'skipped', 'previous run still running (overlap: skip)');
    if (busy && job.overlap === 'queue' && this.ctx.jobs.isQueued(job.name))
      return this.finalClaim(job, at, advanceTo, 'skipped', 'a run is already queued (overlap: queue)');
    return this.executionClaim(job, at, trigger, advanceTo, busy && job.overlap === 'queue');
  }

  /** Manual run (API/CLI): always allowed to overlap — an operator asked for it explicitly. */
  runManual(job: JobDef, options: ManualRun): { executionId: string; runIds: string[] } {
    const executionId = newId(this.ctx.clock.now());
    const nodes = options.nodes ?? this.manualTargets(job);
    const execution = this.buildExecution(job, nodes, {
      executionId,
      trigger: options.trigger ?? 'manual',
      scheduledAt: null,
      pinned: options.nodes !== undefined,
      facts: { parameters: options.parameters, requestedBy: options.requestedBy },
    });
    const runIds = execution.units.map((u) => u.run.id);
    const finals = execution.units.filter((u) => u.run.status !== 'running').map((u) => u.run);
    this.insertManual(
      execution.units.map((u) => u.run),
      finals.flatMap((run) => this.ctx.outboxFor(run, job)),
    );
    for (const run of finals) this.afterFinish(run);
    execution.units = execution.units.filter((u) => u.run.status === 'running');
    this.start(execution, false);
    // Every run of the execution, including those final at once (node down, no candidate).
    return { executionId, runIds };
  }

  /** The runs of one manual execution and the outbox of those already final: one commit. */
  private insertManual(runs: RunRecord[], outbox: OutboxEntry[]): void {
    this.journal.flush();
    this.ctx.store.batch(() => {
      for (const run of runs) this.ctx.store.insertRun(run);
      this.ctx.store.enqueueOutbox(outbox);
    });
  }

  cancel(runId: string, reason = 'cancelled through the API'): boolean {
    const controller = this.controllers.get(runId);
    if (!controller) return false;
    controller.abort(reason);
    return true;
  }

  /** Callers waiting for runs to finish (waitForRun), for tests and diagnostics. */
  get waiterCount(): number {
    let n = 0;
    for (const list of this.waiters.values()) n += list.length;
    return n;
  }

  /** Resolves with the final record of run `id` (already final: at once). */
  waitForRun(id: string, signal?: AbortSignal): Promise<RunRecord> {
    // A run with a controller is in flight (it loses it when it finishes): no read needed.
    if (!this.controllers.has(id)) return this.storedRun(id);
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(id) ?? [];
      const onAbort = () => {
        // An abandoned wait leaves nothing behind (a client polling with timeouts would pile up).
        const rest = (this.waiters.get(id) ?? []).filter((w) => w !== waiter);
        if (rest.length > 0) this.waiters.set(id, rest);
        else this.waiters.delete(id);
        reject(new Error('aborted'));
      };
      const waiter = (run: RunRecord) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(run);
      };
      list.push(waiter);
      this.waiters.set(id, list);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private storedRun(id: string): Promise<RunRecord> {
    this.journal.flush();
    const current = this.ctx.store.getRun(id);
    return current ? Promise.resolve(current) : Promise.reject(new Error(`run ${id} not found`));
  }

  /** True once shutdown began: no new runs are accepted. */
  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Shutdown ladder: no new fires, wait up to `graceMs` for every execution (also one that began
   * after the drain did), then cancel what still runs and wait for those cancellations; finally
   * store every outcome (retrying failed writes) before the caller closes the store.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    const timer = new AbortController();
    const finished = await Promise.race([
      this.idle().then(() => true),
      this.ctx.clock.sleep(graceMs, timer.signal).then(() => false),
    ]);
    timer.abort();
    if (!finished) {
      this.shutdown.abort(SHUTDOWN_REASON);
      await this.idle();
    }
    await this.journal.settle(JOURNAL_SETTLE_MS);
  }

  /** Resolves when no execution is in flight, including ones started while waiting. */
  private async idle(): Promise<void> {
    while (this.executions.size > 0) await Promise.allSettled([...this.executions]);
  }

  private manualTargets(job: JobDef): NodeDef[] | string {
    const { nodes, reason } = selectCandidates(job, this.ctx.nodes());
    return reason ?? nodes;
  }

  private executionClaim(
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
    const claim = { job: job.name, scheduledAt: at, advanceTo, runs, outbox };
    return { claim, finals, execution, afterPrevious };
  }

  private finalClaim(
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

  private claimed(prepared: PreparedClaim): void {
    for (const run of prepared.finals) this.afterFinish(run);
    if (prepared.execution) this.start(prepared.execution, prepared.afterPrevious);
  }

  private alreadyClaimed(claim: FireClaim): void {
    this.ctx.logger.warn(
      { job: claim.job, at: new Date(claim.scheduledAt).toISOString() },
      'fire already claimed; not running it again',
    );
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
    return {
      executionId,
      job: job.name,
      node,
      trigger,
      attempt: 1,
      scheduledAt,
      now: this.ctx.clock.now(),
      scriptSha256,
    };
  }

  private start(execution: Execution, afterPrevious: boolean): void {
    if (execution.units.length === 0) return;
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, this.shutdown.signal]);
    // Each unit in flight listens on it (one per node of an `all` job): many is expected.
    setMaxListeners(0, signal);
    for (const unit of execution.units) this.controllers.set(unit.run.id, controller);
    const name = execution.job.name;
    const promise = this.activity
      .run(name, afterPrevious, signal, () => this.runUnits(execution, controller, signal))
      .catch((err: unknown) => this.ctx.logger.error({ err, job: name }, 'execution failed unexpectedly'))
      .finally(() => this.executions.delete(promise));
    this.executions.add(promise);
  }

  private async runUnits(
    execution: Execution,
    controller: AbortController,
    signal: AbortSignal,
  ): Promise<void> {
    const parallel = execution.job.policy.maxParallel;
    const limiter = parallel ? new Limiter(parallel) : null;
    await Promise.all(
      execution.units.map(async (unit) => {
        if (limiter && !(await limiter.acquire(signal)))
          return this.cancelUnstarted(execution.job, unit, signal);
        try {
          await this.runUnit(execution, unit, controller, signal);
        } finally {
          limiter?.release();
        }
      }),
    );
  }

  private cancelUnstarted(job: JobDef, unit: Unit, signal: AbortSignal): void {
    const now = this.ctx.clock.now();
    this.finish(job, {
      ...unit.run,
      status: 'cancelled',
      error: abortReason(signal),
      finished_at: new Date(now).toISOString(),
      duration_ms: 0,
    });
  }

  /** One unit through its attempts: retries prefer another node and keep the execution id. */
  private async runUnit(
    execution: Execution,
    unit: Unit,
    controller: AbortController,
    signal: AbortSignal,
  ): Promise<void> {
    const { job } = execution;
    const avoid = new Set<string>();
    let run = unit.run;
    for (;;) {
      const target: AttemptTarget = unit.target.kind === 'node' ? unit.target : { kind: 'any', avoid };
      const final = await executeAttempt(this.attempts, {
        job,
        run,
        target,
        environment: execution.environment,
        signal,
      });
      this.finish(job, final);
      if (!this.shouldRetry(job, final, signal)) return;
      await this.ctx.clock.sleep(job.retries.delayMs, signal);
      if (signal.aborted || this.draining) return;
      if (final.node) avoid.add(final.node);
      run = this.retryRun(job, final, unit);
      this.controllers.set(run.id, controller);
    }
  }

  private shouldRetry(job: JobDef, run: RunRecord, signal: AbortSignal): boolean {
    return RETRYABLE.has(run.status) && run.attempt <= job.retries.count && !signal.aborted && !this.draining;
  }

  private retryRun(job: JobDef, previous: RunRecord, unit: Unit): RunRecord {
    const scheduledAt = previous.scheduled_at === null ? null : Date.parse(previous.scheduled_at);
    const node = unit.target.kind === 'node' ? unit.target.node.name : null;
    const next = {
      ...pendingRun({
        ...this.newRun(job, previous.execution_id, node, 'retry', scheduledAt),
        parameters: previous.parameters ?? null,
        requestedBy: previous.requestedBy ?? null,
      }),
      attempt: previous.attempt + 1,
    };
    this.journal.flush();
    this.ctx.store.insertRun(next, scheduledAt === null ? undefined : unit.nodeKey);
    return next;
  }

  /**
   * A run that executed is recorded with the others finishing in this event-loop turn (one
   * commit); observers hear of it after the commit. One that never started (no node up,
   * cancelled while waiting) is recorded at once, as the caller that asked for it expects.
   */
  private finish(job: JobDef, run: RunRecord): void {
    this.controllers.delete(run.id);
    const outbox = this.ctx.outboxFor(run, job);
    if (run.started_at === null) this.journal.finishNow(run, outbox, () => this.afterFinish(run));
    else this.journal.finish(run, outbox, () => this.afterFinish(run));
  }

  private afterFinish(run: RunRecord): void {
    this.ctx.metrics.observeRun(run);
    const level = run.status === 'succeeded' || run.status === 'skipped' ? 'info' : 'warn';
    this.ctx.logger[level](
      {
        run: run.id,
        job: run.job,
        node: run.node,
        status: run.status,
        exit_code: run.exit_code,
        error: run.error,
      },
      'run finished',
    );
    for (const resolve of this.waiters.get(run.id) ?? []) resolve(run);
    this.waiters.delete(run.id);
    this.ctx.jobs.runFinished(run);
    this.ctx.onFinished?.(run);
  }
}

/** Scheduled and catch-up runs have nobody to ask: the declared defaults. */
function scheduledFacts(job: JobDef): RunFacts {
  const parameters: Record<string, string> = {};
  for (const [name, spec] of Object.entries(job.parameters))
    if (spec.default !== undefined) parameters[name] = spec.default;
  return { parameters, requestedBy: null };
}

/** A job that declares no parameters records none (null), not an empty object. */
function recordedFacts(job: JobDef, facts: RunFacts): Pick<NewRun, 'parameters' | 'requestedBy'> {
  const declares = Object.keys(job.parameters).length > 0;
  return { parameters: declares ? facts.parameters : null, requestedBy: facts.requestedBy };
}

function environmentOf(job: JobDef, parameters: Record<string, string>): Record<string, string> {
  return Object.keys(parameters).length === 0 ? job.environment : { ...job.environment, ...parameters };
}
