/**
 * Fires dependent jobs (SPEC §16): after a run of a parent finishes, at start-up and when this
 * member becomes leader, each dependent job's next round is evaluated from the store (its last
 * round and its parents' runs) and, when due, claimed with its runs in one transaction under
 * the unique key (job, round). Evaluating from the store — never from an in-memory event alone —
 * is what makes a kill -9 between a parent's finish and the child's fire harmless: the next start
 * finds the round due and fires it, once. Whichever member evaluates, the key decides who fires.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { JobDef, Millis, RunRecord } from '../core/types.js';
import type { AsyncStore, StoreTx } from '../store/async-store.js';
import type { ConsumedCompletion, DependencyRound } from '../store/store.js';
import { completionsOf, type Completion } from '../workflow/completions.js';
import { countsAfter, evaluateRound, type RoundState } from '../workflow/rounds.js';
import type { Bell } from './bell.js';
import type { ConfigSource } from './config-source.js';
import type { JobTable } from './job-table.js';
import type { Base } from './parts.js';
import type { Runner } from './runner.js';

/** Executions of a parent read per evaluation: the newest ones are the ones that can count. */
const EXECUTIONS_READ = 200;

export interface DependencyOptions {
  store: Pick<AsyncStore, 'lastDependencyRound' | 'claimDependencyRound' | 'recentExecutionRuns'>;
  clock: Clock;
  logger: Logger;
  jobs: Pick<JobTable, 'job' | 'jobs' | 'isEnabled'>;
  /** Stores the round's claim with the child's runs and starts them (Runner.fireDependency). */
  fire: (
    job: JobDef,
    parentRuns: string[],
    claimRound: (tx: StoreTx, executionId: string) => Promise<boolean>,
  ) => Promise<boolean>;
}

/** What a dependent job waits for now (the API's and `distcron next`'s explanation). */
export interface RoundExplanation {
  /** The round that fires next, and when the last one did (round 0: when the job was first loaded). */
  round: number;
  lastFiredAt: Millis;
  state: RoundState;
}

export class DependencyRounds {
  /** Per dependent job, its evaluations one after another (a claim must see the one before). */
  private readonly queues = new Map<string, Promise<void>>();
  private children: { defs: readonly JobDef[]; byParent: Map<string, string[]> } | null = null;
  /** Dependent jobs evaluated at least once by this daemon (their baseline exists). */
  private readonly seen = new Set<string>();
  private closed = false;

  constructor(private readonly opts: DependencyOptions) {}

  /** A run's outcome is stored: a final run of a parent may complete a round of its children. */
  runFinished(run: RunRecord): void {
    if (run.status === 'running' || this.closed) return;
    for (const child of this.childrenOf(run.job)) void this.evaluate(child);
  }

  /** Every dependent job: baselines written, due rounds fired; resolves how many jobs were looked at. */
  async evaluateAll(): Promise<number> {
    const dependents = this.opts.jobs.jobs().filter((job) => job.after);
    await Promise.all(dependents.map((job) => this.evaluate(job.name)));
    return dependents.length;
  }

  /** Dependent jobs loaded since the last look: their baselines are written now. */
  async evaluateNew(): Promise<void> {
    const fresh = this.opts.jobs.jobs().filter((job) => job.after && !this.seen.has(job.name));
    await Promise.all(fresh.map((job) => this.evaluate(job.name)));
  }

  /** The names of the loaded jobs that run after `parent`. */
  childrenOf(parent: string): readonly string[] {
    const defs = this.opts.jobs.jobs();
    if (this.children?.defs !== defs) this.children = { defs, byParent: indexChildren(defs) };
    return this.children.byParent.get(parent) ?? [];
  }

  /** What `name` waits for; undefined when it is not a dependent job. */
  async explain(name: string): Promise<RoundExplanation | undefined> {
    const job = this.opts.jobs.job(name);
    if (!job?.after) return undefined;
    const now = this.opts.clock.now();
    const last = (await this.opts.store.lastDependencyRound(name)) ?? baseline(name, now);
    const state = await this.stateOf(job, last, now);
    return { round: state.round, lastFiredAt: last.firedAt, state };
  }

  /** No new evaluation starts; resolves once those in flight settled (before the store closes). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.queues.values()]);
  }

  /** Evaluates `name` after its evaluations in flight; failures are logged (the next event retries). */
  evaluate(name: string): Promise<void> {
    this.seen.add(name);
    const previous = this.queues.get(name) ?? Promise.resolve();
    const next = previous
      .then(() => this.evaluateNow(name))
      .catch((err: unknown) => {
        this.opts.logger.error({ err, job: name }, 'dependency round could not be evaluated');
      });
    this.queues.set(name, next);
    void next.finally(() => {
      if (this.queues.get(name) === next) this.queues.delete(name);
    });
    return next;
  }

  private async evaluateNow(name: string): Promise<void> {
    const job = this.opts.jobs.job(name);
    if (!job?.after || this.closed) return;
    const now = this.opts.clock.now();
    const last = await this.opts.store.lastDependencyRound(name);
    // First seen: parent completions from before the job existed do not count.
    if (!last) return void (await this.opts.store.claimDependencyRound(baseline(name, now)));
    const state = await this.stateOf(job, last, now);
    if (state.due) await this.fireRound(job, state, now);
  }

  /** Claims the due round with the job's runs (or, disabled, without any). */
  private async fireRound(job: JobDef, state: RoundState, now: Millis): Promise<void> {
    const parents = consumedBy(state);
    const parentRuns = Object.values(parents).flatMap((c) => c.runIds);
    const round = (executionId: string | null): DependencyRound => ({
      ...{ job: job.name, round: state.round, firedAt: now },
      ...{ executionId, parents },
    });
    if (!this.opts.jobs.isEnabled(job)) return this.passOver(round(null));
    const fired = await this.opts.fire(job, parentRuns, (tx, executionId) =>
      tx.claimDependencyRound(round(executionId)),
    );
    this.opts.logger.info(
      { job: job.name, round: state.round, parent_runs: parentRuns, fired },
      fired
        ? 'dependency round complete: job fired'
        : 'dependency round not fired here: claimed already (or the daemon is stopping)',
    );
  }

  /** A disabled job's round is consumed without a run: enabling it later does not replay it. */
  private async passOver(round: DependencyRound): Promise<void> {
    if (await this.opts.store.claimDependencyRound(round))
      this.opts.logger.info(
        { job: round.job, round: round.round },
        'dependency round passed over: job disabled',
      );
  }

  private async stateOf(job: JobDef, last: DependencyRound, now: Millis): Promise<RoundState> {
    const spec = job.after!;
    const completions = new Map<string, Completion[]>();
    for (const { job: parent } of spec.parents) {
      const after = countsAfter(last, parent, spec.windowMs, now);
      const runs = await this.opts.store.recentExecutionRuns(parent, after, EXECUTIONS_READ);
      const retries = this.opts.jobs.job(parent)?.retries.count ?? 0;
      completions.set(parent, completionsOf(runs, { retries }));
    }
    return evaluateRound(spec, last, completions, now);
  }
}

function baseline(job: string, now: Millis): DependencyRound {
  return { job, round: 0, firedAt: now, executionId: null, parents: {} };
}

function consumedBy(state: RoundState): Record<string, ConsumedCompletion> {
  const parents: Record<string, ConsumedCompletion> = {};
  for (const { dependency, completion } of state.parents) {
    if (!completion) continue;
    const { executionId, completedAt, runIds } = completion;
    parents[dependency.job] = { executionId, completedAt, runIds };
  }
  return parents;
}

function indexChildren(defs: readonly JobDef[]): Map<string, string[]> {
  const byParent = new Map<string, string[]>();
  for (const job of defs)
    for (const { job: parent } of job.after?.parents ?? []) {
      const list = byParent.get(parent);
      if (list) list.push(job.name);
      else byParent.set(parent, [job.name]);
    }
  for (const list of byParent.values()) list.sort();
  return byParent;
}

/** How often members of a cluster look for rounds whose parent finished on a member that died since. */
const CLUSTER_SWEEP_MS = 30_000;

/**
 * The dependency rounds wired in: a round is evaluated when a parent's run finishes here, for
 * every dependent job now (start-up: rounds completed before a crash fire now), for each new
 * dependent job once it is loaded (its baseline), and — on PostgreSQL — every 30 s, since the run
 * completing a round may have finished on a member that died before it fired.
 */
export function startDependencies(
  base: Base,
  deps: {
    store: AsyncStore;
    jobs: JobTable;
    runner: Pick<Runner, 'fireDependency'>;
    finished: Bell<RunRecord>;
    config: ConfigSource;
    applied: () => Promise<void>;
  },
): DependencyRounds {
  const { clock, logger, cleanup } = base;
  const rounds = new DependencyRounds({
    ...{ store: deps.store, clock, logger, jobs: deps.jobs },
    fire: (job, parentRuns, claim) => deps.runner.fireDependency(job, parentRuns, claim),
  });
  cleanup.push('dependency rounds', () => rounds.close());
  deps.finished.listen((run) => rounds.runFinished(run));
  deps.config.onChange(() => void deps.applied().then(() => rounds.evaluateNew()));
  void rounds.evaluateAll().then((count) => {
    if (count > 0) logger.info({ jobs: count }, 'dependency rounds evaluated');
  });
  if (deps.store.cluster) cleanup.push('dependency sweep', sweepEvery(rounds, clock, CLUSTER_SWEEP_MS));
  return rounds;
}

function sweepEvery(rounds: DependencyRounds, clock: Clock, everyMs: number): () => void {
  const stop = new AbortController();
  const loop = async () => {
    while (!stop.signal.aborted) {
      await clock.sleep(everyMs, stop.signal);
      if (!stop.signal.aborted) await rounds.evaluateAll();
    }
  };
  void loop();
  return () => stop.abort();
}
