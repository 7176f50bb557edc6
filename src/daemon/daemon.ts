import { systemClock } from '../core/clock.js';
import { createLogger } from '../core/log.js';
import { Metrics } from '../core/metrics.js';
import type { JobDef, NodeDef, RunRecord } from '../core/types.js';
import type { Executor } from '../exec/executor.js';
import { esOutboxEntry } from '../report/outbox.js';
import { runFinishedEntry } from '../notify/outbox.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { OutboxEntry, Store } from '../store/store.js';
import type { FirePlan } from './catch-up.js';
import { CleanupStack } from './cleanup.js';
import { openConfigSource } from './config-source.js';
import type { DaemonControl } from './control.js';
import { DaemonControlImpl } from './control-impl.js';
import { createExecutors } from './executors.js';
import { JobRegistry, type ConfigState } from './job-registry.js';
import { Limiter } from './limiter.js';
import { NodeHealthTracker } from './node-health.js';
import { withDefaults, type DaemonOptions, type DaemonRuntime } from './options.js';
import { startRetention } from './retention.js';
import { Runner } from './runner.js';
import { Scheduler } from './scheduler.js';
import { startServices, type Services } from './services.js';

export interface Daemon {
  readonly options: DaemonOptions;
  readonly control: DaemonControl;
  /** Base URL of the REST API, when listening. */
  readonly apiUrl: string | null;
  /** SIGHUP: full config reload. */
  reload(): Promise<void>;
  /** Shutdown ladder: stop scheduling → drain (shutdownGraceMs) → cancel → close. Idempotent. */
  close(): Promise<void>;
}

/** Test seam: a scripted executor for pure scheduling tests. Real daemons use createExecutors. */
export interface DaemonTestRuntime extends DaemonRuntime {
  executor?: Executor;
}

export async function startDaemon(
  partial: Partial<DaemonOptions>,
  runtime: DaemonTestRuntime = {},
): Promise<Daemon> {
  const options = withDefaults(partial);
  const clock = runtime.clock ?? systemClock;
  const logger = runtime.logger ?? createLogger(options.logLevel);
  const metrics = new Metrics({ jobLabels: options.metricsJobLabels });
  const cleanup = new CleanupStack();
  const onCleanupError = (name: string, err: unknown) =>
    logger.error({ err, step: name }, 'shutdown step failed');
  try {
    const registry = new JobRegistry(options.timezone, logger);
    const source = await openConfigSource(options, logger);
    cleanup.push('config watcher', () => source.close());
    const initial = registry.apply(source.current());
    metrics.configErrors.set(countErrorFiles(registry));

    const store = openSqliteStore({ path: options.dbPath, logger, clock });
    cleanup.push('store', () => store.close());
    const outboxFor = (run: RunRecord, job: JobDef | undefined): OutboxEntry[] =>
      options.esUrl ? [esOutboxEntry(run, job), runFinishedEntry(run, job)] : [runFinishedEntry(run, job)];
    const lost = store.markRunningAsLost(clock.now(), (run) => outboxFor(run, registry.job(run.job)));
    if (lost.length > 0)
      logger.warn({ count: lost.length }, 'runs in flight when the daemon stopped are recorded as lost');

    let services: Services | null = null;
    const wake = () => services?.wake();
    const executor =
      runtime.executor ?? createExecutors(options, { clock, logger, metrics, store, registry, wake });
    cleanup.push('executors', () => executor.close());
    const health = new NodeHealthTracker({
      clock,
      logger,
      probe: (node) => executor.probe(node),
      lookup: (name) => registry.nodeMap().get(name),
      onChange: () => updateNodeGauges(),
      initialBackoffMs: options.nodeProbeInitialMs,
      maxBackoffMs: options.nodeProbeMaxMs,
    });
    cleanup.push('node health', () => health.close());
    const updateNodeGauges = () => {
      const { down } = health.counts();
      metrics.nodesDown.set(down);
      metrics.nodesUp.set(registry.nodeMap().size - down);
    };
    updateNodeGauges();

    const nodeLoad = new NodeLoadBook(metrics);
    let control: DaemonControlImpl | null = null;
    const runner = new Runner({
      store,
      executor,
      clock,
      logger,
      metrics,
      health,
      nodes: () => registry.nodeMap(),
      slots: (node) => nodeLoad.slots(node),
      load: (name) => nodeLoad.load(name, health.isUp(name)),
      noteStart: (name) => nodeLoad.start(name, clock.now()),
      noteEnd: (name) => nodeLoad.end(name),
      roundRobin: new Map(),
      random: runtime.random ?? Math.random,
      outputLimitBytes: options.outputLimitBytes,
      defaultTimeoutMs: options.defaultTimeoutMs,
      outboxFor,
      onFinished: (run) => {
        control?.noteFinished(run);
        services?.wake();
      },
    });

    const scheduler = new Scheduler({
      clock,
      logger,
      graceMs: options.graceMs,
      maxWaitMs: options.maxWaitMs,
      lastScheduled: (job) => store.getJobState(job)?.lastScheduledAt ?? null,
      initLastScheduled: (jobs, at) => store.initJobStates(jobs, at),
      isEnabled: (job) => control!.isEnabled(job),
      execute: (job, plan, latest) => executePlan(runner, job, plan, latest),
      passOver: (job, latest) => store.setLastScheduled(job.name, latest),
    });
    cleanup.push('scheduler', () => scheduler.stop());

    const applyConfig = (state: ConfigState) => {
      const diff = registry.apply(state);
      scheduler.setJobs(diff.upserted);
      for (const name of diff.removed) scheduler.removeJob(name);
      for (const name of diff.nodesRemoved) health.forget(name);
      for (const node of registry.nodeMap().values()) nodeLoad.resize(node);
      metrics.configErrors.set(countErrorFiles(registry));
      updateNodeGauges();
      if (diff.upserted.length + diff.removed.length > 0) {
        logger.info({ changed: diff.upserted.length, removed: diff.removed.length }, 'config applied');
      }
    };
    const initialStates = store.listJobStates();
    const persisted = new Map(initialStates.map((s) => [s.job, s.lastScheduledAt]));
    // Nothing changes the registry before this (listeners come after): every job is in `upserted`.
    scheduler.setJobs(initial.upserted, persisted);
    source.onChange(applyConfig);

    control = new DaemonControlImpl({
      store,
      metrics,
      registry,
      scheduler,
      runner,
      health,
      jobsDir: options.jobsDir,
      initialStates,
      nodeInFlight: (name) => nodeLoad.load(name, true).inFlight,
      validateJobBody: (name, body) => source.validateJobBody(name, body, registry.nodeMap()),
      isValidJobName: (name) => source.isValidJobName(name),
      reload: (file) => source.refresh([file]),
    });
    services = await startServices(options, {
      clock,
      logger,
      metrics,
      store,
      control,
      jobs: (name) => registry.job(name),
    });
    cleanup.push('services', () => services?.close());
    // Drain after the API stops taking new runs would lose cancellations: so the ladder drains first.
    cleanup.push('drain', () => runner.drain(options.shutdownGraceMs));
    cleanup.push('retention', startRetention(store, options, clock, logger));
    scheduler.start();
    cleanup.push('stop scheduling', () => scheduler.stop());
    for (const run of lost) services.wake(run);
    logger.info(
      { jobs: countOf(registry.allJobs()), nodes: registry.nodeMap().size, api: services.apiUrl },
      'distcron ready',
    );

    return {
      options,
      control,
      apiUrl: services.apiUrl,
      reload: () => source.reloadAll(),
      close: () => cleanup.run(onCleanupError),
    };
  } catch (err) {
    await cleanup.run(onCleanupError);
    throw err;
  }
}

function executePlan(runner: Runner, job: JobDef, plan: FirePlan, latest: number): void {
  if (plan.kind === 'none') return;
  if (plan.missed) runner.recordMissed(job, plan.missed, latest);
  if (plan.kind !== 'fire') return;
  if (plan.instants.length === 1) {
    const only = plan.instants[0]!;
    return runner.fire(job, only.at, only.late ? 'catch_up' : 'schedule', latest);
  }
  runner.fireSeries(job, plan.instants, latest);
}

function countErrorFiles(registry: JobRegistry): number {
  return new Set(
    registry
      .configProblems()
      .filter((p) => p.severity === 'error')
      .map((p) => p.file),
  ).size;
}

function countOf(items: Iterable<unknown>): number {
  let n = 0;
  for (const _ of items) n++;
  return n;
}

/** Runs in flight and last use per node (least_loaded), and per-node slots (max_concurrent_runs). */
class NodeLoadBook {
  private readonly inFlight = new Map<string, number>();
  private readonly lastUsed = new Map<string, number>();
  private readonly limiters = new Map<string, Limiter>();
  private total = 0;

  constructor(private readonly metrics: Metrics) {}

  slots(node: NodeDef): Limiter {
    let limiter = this.limiters.get(node.name);
    if (!limiter) {
      limiter = new Limiter(node.maxConcurrentRuns);
      this.limiters.set(node.name, limiter);
    }
    return limiter;
  }

  resize(node: NodeDef): void {
    this.limiters.get(node.name)?.setCapacity(node.maxConcurrentRuns);
  }

  load(name: string, up: boolean) {
    return { up, inFlight: this.inFlight.get(name) ?? 0, lastUsedAt: this.lastUsed.get(name) ?? 0 };
  }

  start(name: string, now: number): void {
    this.inFlight.set(name, (this.inFlight.get(name) ?? 0) + 1);
    this.lastUsed.set(name, now);
    this.metrics.runsInFlight.set(++this.total);
  }

  end(name: string): void {
    this.inFlight.set(name, Math.max(0, (this.inFlight.get(name) ?? 1) - 1));
    this.metrics.runsInFlight.set(--this.total);
  }
}

export type { Store };
