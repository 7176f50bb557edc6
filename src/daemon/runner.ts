import { setMaxListeners } from 'node:events';
import type { Metrics } from '../core/metrics.js';
import type { JobDef, Millis, RunRecord } from '../core/types.js';
import { PlacementHistory } from '../placement/index.js';
import type {
  AsyncStore,
  ClaimFence,
  QueueActivity,
  QueueEntry,
  StoreTx,
  TakenExecution,
} from '../store/async-store.js';
import type { FireClaim, OutboxEntry } from '../store/store.js';
import { abortReason, executeAttempt, type AttemptContext, type AttemptTarget } from './attempt.js';
import { describeMissed } from './catch-up.js';
import type { DueFire } from './scheduler.js';
import { Limiter } from './limiter.js';
import { RETRYABLE } from './run-records.js';
import { JobActivity } from './job-activity.js';
import type { JobTable } from './job-table.js';
import { LiveOutput } from './live-output.js';
import { RunJournal } from './run-journal.js';
import { RunWaiters } from './run-waiters.js';
import { parseQueuedJob, queueEntryOf } from './queued-job.js';
import { RunPlans, type Execution, type ManualRun, type PreparedClaim, type Unit } from './run-plans.js';

export type { ManualRun } from './run-plans.js';

export interface RunnerOptions extends Omit<AttemptContext, 'recordStart' | 'placements'> {
  store: AsyncStore;
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
  /**
   * The leader's fence for each claim of scheduled fires (cluster mode); throws NotLeaderError
   * when this member may not claim. Undefined: no fence (SQLite, tests).
   */
  fence?: () => ClaimFence | undefined;
  /** This daemon's member id, recorded in every run it executes. */
  member?: string;
  /** After a run's outcome is stored and the job table has it (the outbox has news). */
  onFinished?: (run: RunRecord) => void;
  /** Executions were queued by this member (wake its queue worker). */
  onQueued?: () => void;
  /** A job by name, as this member loaded it (an execution taken from the queue names its job). */
  jobDef: (name: string) => JobDef | undefined;
  /** How often waitForRun reads a run executing on another member. */
  remotePollMs: number;
}

/** A job with nothing queued or running anywhere. */
const IDLE: QueueActivity = { executions: 0, waiting: 0 };
const SHUTDOWN_REASON = 'cancelled: daemon shutting down';
/** At shutdown, how long run writes that fail (store locked, disk full) are retried before exit. */
const JOURNAL_SETTLE_MS = 15_000;
const LEAVE_QUEUE_RETRY_MS = 1_000;
const LEAVE_QUEUE_TRIES = 60;

/**
 * Turns fires into runs: claims each (job, instant, node) once, applies the overlap policy,
 * executes units (one per node for `all`, one for `any`) with retries, and records every outcome.
 * What the runs are (nodes, finals, outbox) is built by RunPlans; this class stores and runs them.
 */
export class Runner {
  private readonly activity: JobActivity;
  private readonly plans: RunPlans;
  private readonly controllers = new Map<string, AbortController>();
  /** Executions in flight, and manual runs being stored (their executions start after). */
  private readonly executions = new Set<Promise<void>>();
  private readonly waiters: RunWaiters;
  private readonly shutdown = this.shutdownController();
  private readonly journal: RunJournal;
  private readonly attempts: AttemptContext;
  private draining = false;
  /** Output of the runs executing here, as it comes (SPEC §17). */
  readonly liveOutput: LiveOutput;

  constructor(private readonly ctx: RunnerOptions) {
    this.journal = new RunJournal(ctx.store, ctx.logger);
    this.activity = new JobActivity(ctx.jobs);
    this.plans = new RunPlans(ctx);
    this.liveOutput = new LiveOutput(ctx.store, ctx.logger);
    this.waiters = new RunWaiters({
      clock: ctx.clock,
      pollMs: ctx.remotePollMs,
      isLocal: (id) => this.controllers.has(id),
      // A finish this member queued is committed before the record is read back.
      read: async (id) => {
        await this.journal.flush();
        return this.ctx.store.getRun(id);
      },
    });
    this.attempts = {
      ...ctx,
      liveOutput: this.liveOutput,
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
   * Carries out the plans of one scheduler tick: every job's `missed` run and fires are claimed
   * in one transaction (all or nothing), then what was claimed starts. A catch-up series runs
   * one fire after another. Rejects, having claimed nothing, when the store fails: the scheduler
   * retries.
   */
  async fireDue(fires: readonly DueFire[]): Promise<void> {
    if (this.draining) return;
    // The overlap policy counts the job's executions on every member (the queue holds them all).
    const watched = fires.filter((f) => f.plan.fires.length === 1 && f.job.overlap !== 'allow');
    const activity = await this.ctx.store.queueActivity(watched.map((f) => f.job.name));
    const prepared = fires.flatMap((f) => this.prepareFires(f, activity.get(f.job.name) ?? IDLE));
    if (prepared.length === 0) return;
    // Not behind the journal's run writes: a busy member's backlog of finishes must not make fires
    // late. A claim touches only new runs; of a job's last outcome, the later commit wins.
    const taken = await this.ctx.store.claimFires(
      prepared.map((p) => p.claim),
      this.ctx.fence?.(),
    );
    prepared.forEach((p, i) => (taken[i] ? this.claimed(p) : this.alreadyClaimed(p.claim)));
    if (prepared.some((p, i) => taken[i] && p.claim.queue)) this.ctx.onQueued?.();
    // Only once the claims are stored: a refused claim is retried and would be counted twice.
    for (const { plan } of fires) if (plan.fires.length === 1) this.observeLateness(plan.fires[0]!.at);
  }

  private prepareFires({ job, plan, latest }: DueFire, activity: QueueActivity): PreparedClaim[] {
    const prepared: PreparedClaim[] = [];
    if (plan.missed)
      prepared.push(
        this.plans.finalClaim(job, plan.missed.at, latest, 'missed', describeMissed(plan.missed)),
      );
    const series = plan.fires.length > 1;
    for (const { at, late } of plan.fires) {
      const trigger = late ? 'catch_up' : 'schedule';
      prepared.push(
        series
          ? this.plans.executionClaim(job, at, trigger, latest, true)
          : this.plans.fireClaim(job, at, trigger, latest, activity),
      );
    }
    return prepared;
  }

  private observeLateness(at: Millis): void {
    this.ctx.metrics.scheduleLateness.observe(Math.max(0, this.ctx.clock.now() - at) / 1000);
  }

  /**
   * A dependent job's round (SPEC §16): `claimRound` (the round's unique key) and the child's
   * runs are stored in one transaction, then the execution starts as a scheduled fire's would.
   * Resolves false, having stored nothing, when the round was claimed already (here or by
   * another member) or the daemon is shutting down.
   */
  fireDependency(
    job: JobDef,
    parentRuns: string[],
    claimRound: (tx: StoreTx, executionId: string) => Promise<boolean>,
  ): Promise<boolean> {
    if (this.draining) return Promise.resolve(false);
    return this.tracked(this.storeDependency(job, parentRuns, claimRound));
  }

  private async storeDependency(
    job: JobDef,
    parentRuns: string[],
    claimRound: (tx: StoreTx, executionId: string) => Promise<boolean>,
  ): Promise<boolean> {
    const activity = await this.ctx.store.queueActivity([job.name]);
    const plan = this.plans.dependencyPlan(job, parentRuns, activity.get(job.name)!);
    await this.journal.flush();
    const taken = await this.ctx.store.transaction(async (tx) => {
      if (!(await claimRound(tx, plan.executionId))) return false;
      for (const run of plan.runs) await tx.insertRun(run);
      await tx.enqueueOutbox(plan.outbox);
      if (plan.queue) await tx.enqueueExecutions([plan.queue]);
      return true;
    });
    if (!taken) return false;
    this.claimed(plan);
    if (plan.queue) this.ctx.onQueued?.();
    return true;
  }

  /**
   * Manual run (API/CLI): always allowed to overlap — an operator asked for it explicitly.
   * Resolves once its runs are stored and its execution queued (so waitForRun finds them); the
   * member that takes it executes it (usually this one: it is woken first).
   */
  runManual(job: JobDef, options: ManualRun): Promise<{ executionId: string; runIds: string[] }> {
    return this.tracked(this.storeManual(job, options));
  }

  /** The drain waits for `stored` too: an execution that starts after the drain began is drained. */
  private tracked<T>(stored: Promise<T>): Promise<T> {
    const settled = stored.then(
      () => undefined,
      () => undefined,
    );
    this.executions.add(settled);
    void settled.finally(() => this.executions.delete(settled));
    return stored;
  }

  private async storeManual(
    job: JobDef,
    options: ManualRun,
  ): Promise<{ executionId: string; runIds: string[] }> {
    const execution = this.plans.manualExecution(job, options);
    const runIds = execution.units.map((u) => u.run.id);
    const finals = execution.units.filter((u) => u.run.status !== 'running').map((u) => u.run);
    const queued = execution.units.some((u) => u.run.status === 'running');
    await this.insertManual(
      execution.units.map((u) => u.run),
      finals.flatMap((run) => this.ctx.outboxFor(run, job)),
      queued ? queueEntryOf(job, execution.executionId, false) : null,
    );
    for (const run of finals) this.afterFinish(run);
    if (queued) this.ctx.onQueued?.();
    // Every run of the execution, including those final at once (node down, no candidate).
    return { executionId: execution.executionId, runIds };
  }

  /** The runs of one manual execution, the outbox of those already final and its queue entry: one commit. */
  private async insertManual(
    runs: RunRecord[],
    outbox: OutboxEntry[],
    queue: QueueEntry | null,
  ): Promise<void> {
    await this.journal.flush();
    await this.ctx.store.transaction(async (tx) => {
      for (const run of runs) await tx.insertRun(run);
      await tx.enqueueOutbox(outbox);
      if (queue) await tx.enqueueExecutions([queue]);
    });
  }

  /**
   * An execution this member took from the run queue starts here (the one entry point of every
   * execution on this member); resolves once its runs ended and it left the queue.
   */
  executeTaken(taken: TakenExecution): Promise<void> {
    const done = this.runTaken(taken);
    // The drain waits for it to leave the queue too (the store closes after the drain).
    this.executions.add(done);
    void done.finally(() => this.executions.delete(done)).catch(() => undefined);
    return done;
  }

  private async runTaken(taken: TakenExecution): Promise<void> {
    const execution = this.plans.takenExecution(taken, this.jobOf(taken));
    const finals = execution.units.filter((u) => u.run.status !== 'running').map((u) => u.run);
    for (const run of finals) await this.finish(execution.job, run);
    execution.units = execution.units.filter((u) => u.run.status === 'running');
    if (this.draining) await this.cancelAll(execution);
    else await this.start(execution);
    await this.journal.flush();
    await this.leaveQueue(taken.executionId);
  }

  private jobOf(taken: TakenExecution): JobDef | string {
    if (taken.jobDef !== null) return parseQueuedJob(taken.jobDef);
    return (
      this.ctx.jobDef(taken.job) ??
      `job ${taken.job} is not loaded on member ${this.ctx.member ?? '(this)'}; its configuration differs from the member that queued it`
    );
  }

  /** Taken during shutdown (a race with the drain): recorded cancelled, never started. */
  private async cancelAll(execution: Execution): Promise<void> {
    for (const unit of execution.units) await this.cancelUnstarted(execution.job, unit, this.shutdown.signal);
  }

  /** Retried: an execution left in the queue counts as busy for its job's overlap policy. */
  private async leaveQueue(executionId: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.ctx.store.endExecution(executionId);
      } catch (err) {
        if (attempt === 1)
          this.ctx.logger.warn(
            { err, execution: executionId },
            'run queue: could not end an execution; retrying',
          );
        if (attempt >= LEAVE_QUEUE_TRIES) return;
        await this.ctx.clock.sleep(LEAVE_QUEUE_RETRY_MS);
      }
    }
  }

  cancel(runId: string, reason = 'cancelled through the API'): boolean {
    const controller = this.controllers.get(runId);
    if (!controller) return false;
    controller.abort(reason);
    return true;
  }

  /** Callers waiting for runs to finish (waitForRun), for tests and diagnostics. */
  get waiterCount(): number {
    return this.waiters.count;
  }

  /** Resolves with the final record of run `id`, wherever it executes (already final: at once). */
  waitForRun(id: string, signal?: AbortSignal): Promise<RunRecord> {
    return this.waiters.wait(id, signal);
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

  /** Finals are told now; a claimed execution waits in the queue (a member takes it). */
  private claimed(prepared: Pick<PreparedClaim, 'finals'>): void {
    for (const run of prepared.finals) this.afterFinish(run);
  }

  private alreadyClaimed(claim: FireClaim): void {
    this.ctx.logger.warn(
      { job: claim.job, at: new Date(claim.scheduledAt).toISOString() },
      'fire already claimed; not running it again',
    );
  }

  /** Queue order already kept the overlap policy: the execution starts at once. */
  private start(execution: Execution): Promise<void> {
    if (execution.units.length === 0) return Promise.resolve();
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, this.shutdown.signal]);
    // Each unit in flight listens on it (one per node of an `all` job): many is expected.
    setMaxListeners(0, signal);
    for (const unit of execution.units) this.controllers.set(unit.run.id, controller);
    const name = execution.job.name;
    const promise = this.activity
      .run(name, false, signal, () => this.runUnits(execution, controller, signal))
      .catch((err: unknown) => this.ctx.logger.error({ err, job: name }, 'execution failed unexpectedly'))
      .finally(() => this.executions.delete(promise));
    this.executions.add(promise);
    return promise;
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

  private cancelUnstarted(job: JobDef, unit: Unit, signal: AbortSignal): Promise<void> {
    const now = this.ctx.clock.now();
    return this.finish(job, {
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
      await this.finish(job, final);
      if (!this.shouldRetry(job, final, signal)) return;
      await this.ctx.clock.sleep(job.retries.delayMs, signal);
      if (signal.aborted || this.draining) return;
      if (final.node) avoid.add(final.node);
      run = await this.retryRun(job, final, unit);
      this.controllers.set(run.id, controller);
    }
  }

  private shouldRetry(job: JobDef, run: RunRecord, signal: AbortSignal): boolean {
    return RETRYABLE.has(run.status) && run.attempt <= job.retries.count && !signal.aborted && !this.draining;
  }

  /** Stores the next attempt's run (claiming its key for a scheduled run) before it executes. */
  private async retryRun(job: JobDef, previous: RunRecord, unit: Unit): Promise<RunRecord> {
    const next = this.plans.retryRun(job, previous, unit);
    await this.journal.flush();
    await this.ctx.store.insertRun(next, next.scheduled_at === null ? undefined : unit.nodeKey);
    return next;
  }

  /**
   * A run that executed is recorded with the others finishing in this event-loop turn (one
   * commit); observers hear of it after the commit. One that never started (no node up,
   * cancelled while waiting) is recorded at once, as the caller that asked for it expects:
   * the promise resolves once it is stored (or kept for a retry).
   */
  private async finish(job: JobDef, run: RunRecord): Promise<void> {
    this.controllers.delete(run.id);
    const outbox = this.ctx.outboxFor(run, job);
    // Every chunk is stored before the final record: a reader that sees it final has all output.
    await this.liveOutput.close(run.id);
    if (run.started_at === null) await this.journal.finishNow(run, outbox, () => this.afterFinish(run));
    else this.journal.finish(run, outbox, () => this.afterFinish(run));
  }

  private afterFinish(run: RunRecord): void {
    this.liveOutput.ended(run.id, { status: run.status, exit_code: run.exit_code });
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
    this.waiters.ended(run);
    this.ctx.jobs.runFinished(run);
    this.ctx.onFinished?.(run);
  }
}
