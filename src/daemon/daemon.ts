import { configNameOf } from '../config/names.js';
import { systemClock } from '../core/clock.js';
import { createLogger } from '../core/log.js';
import { Metrics } from '../core/metrics.js';
import type { JobDef, RunRecord } from '../core/types.js';
import type { Executor } from '../exec/executor.js';
import { esOutboxEntry } from '../report/outbox.js';
import { runFinishedEntry } from '../notify/outbox.js';
import { acquireDaemonLock } from '../store/daemon-lock.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { OutboxEntry, Store } from '../store/store.js';
import { CleanupStack } from './cleanup.js';
import { ConfigApplier } from './config-apply.js';
import { openConfigSource } from './config-source.js';
import type { DaemonControl } from './control.js';
import { DaemonControlImpl } from './control-impl.js';
import { createExecutors, tofuKnownHostsFileOf } from './executors.js';
import { JobRegistry, type ConfigState } from './job-registry.js';
import { NodeLoadBook } from './node-load.js';
import { JobBook } from './job-book.js';
import { Bell } from './bell.js';
import { isHostKeyError, watchKnownHosts } from './known-hosts-watch.js';
import { NodeHealthTracker } from './node-health.js';
import { withDefaults, type DaemonOptions, type DaemonRuntime } from './options.js';
import { startRetention } from './retention.js';
import { Runner } from './runner.js';
import { Scheduler } from './scheduler.js';
import { startServices } from './services.js';

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
    const lock = acquireDaemonLock(options.dbPath);
    cleanup.push('daemon lock', () => lock.release());
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

    // Runs finished and notices queued ring it; the outbox services listen once started.
    const outboxBell = new Bell();
    const wake = () => outboxBell.ring();
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
    const stopWatchingKeys = watchKnownHosts(
      [options.knownHostsFile, tofuKnownHostsFileOf(options)],
      (file) => {
        const nodes = health.reprobeNow(isHostKeyError);
        if (nodes.length > 0)
          logger.info({ file, nodes }, 'known_hosts changed; probing nodes down for their host key');
      },
    );
    cleanup.push('known_hosts watch', stopWatchingKeys);
    const updateNodeGauges = () => {
      const { down } = health.counts();
      metrics.nodesDown.set(down);
      metrics.nodesUp.set(registry.nodeMap().size - down);
    };
    updateNodeGauges();

    const nodeLoad = new NodeLoadBook(metrics);
    // Read once: the scheduler's preload and the enable overrides come from the same snapshot.
    const initialStates = store.listJobStates();
    const jobBook = new JobBook(store, initialStates);
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
      noteStart: (name) => nodeLoad.start(name),
      noteEnd: (name) => nodeLoad.end(name),
      roundRobin: new Map(),
      random: runtime.random ?? Math.random,
      outputLimitBytes: options.outputLimitBytes,
      defaultTimeoutMs: options.defaultTimeoutMs,
      outboxFor,
      onFinished: (run) => {
        jobBook.finish(run);
        outboxBell.ring();
      },
    });

    const scheduler = new Scheduler({
      clock,
      logger,
      graceMs: options.graceMs,
      maxWaitMs: options.maxWaitMs,
      baseline: (job) => store.getJobState(job) ?? null,
      setBaselines: (items) => store.setBaselines(items),
      forgetBaseline: (job) => store.forgetBaseline(job),
      isEnabled: (job) => jobBook.isEnabled(job),
      execute: (job, plan, latest) => runner.firePlan(job, plan, latest),
      passOver: (job, latest) => store.setLastScheduled(job.name, latest),
      onClaimError: () => metrics.claimErrors.inc(),
    });
    cleanup.push('scheduler', () => scheduler.stop());

    const applier = new ConfigApplier({
      registry,
      scheduler,
      logger,
      onApplied: (diff) => {
        for (const name of diff.nodesRemoved) health.forget(name);
        for (const node of registry.nodeMap().values()) nodeLoad.resize(node);
        updateNodeGauges();
        metrics.configErrors.set(countErrorFiles(registry));
        if (diff.upserted.length + diff.removed.length > 0) {
          logger.info({ changed: diff.upserted.length, removed: diff.removed.length }, 'config applied');
        }
      },
    });
    cleanup.push('config applier', () => applier.close());
    const applyConfig = (state: ConfigState) => {
      applier.apply(state);
      metrics.configErrors.set(countErrorFiles(registry));
    };
    const persisted = new Map(initialStates.map((s) => [s.job, s]));
    // Nothing changes the registry before this (listeners come after): every job is in `upserted`.
    scheduler.setJobs(initial.upserted, persisted);
    // A job not in the config now was deleted: its state must not date a later job of that name.
    scheduler.forgetAbsent(initialStates, namesWithErrors(registry));
    source.onChange(applyConfig);

    const control = new DaemonControlImpl({
      store,
      metrics,
      registry,
      scheduler,
      runner,
      health,
      jobsDir: options.jobsDir,
      jobBook,
      nodeInFlight: (name) => nodeLoad.load(name, true).inFlight,
      validateJobBody: (name, body) => source.validateJobBody(name, body, registry.nodeMap()),
      isValidJobName: (name) => source.isValidJobName(name),
      reload: (file) => source.refresh([file]),
    });
    const services = await startServices(options, {
      clock,
      logger,
      metrics,
      store,
      control,
      jobs: (name) => registry.job(name),
    });
    cleanup.push('services', () => services.close());
    outboxBell.listen(() => services.wake());
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

function filesWithErrors(registry: JobRegistry): Set<string> {
  return new Set(
    registry
      .configProblems()
      .filter((p) => p.severity === 'error')
      .map((p) => p.file),
  );
}

function namesWithErrors(registry: JobRegistry): Set<string> {
  return new Set([...filesWithErrors(registry)].map(configNameOf));
}

function countErrorFiles(registry: JobRegistry): number {
  return filesWithErrors(registry).size;
}

function countOf(items: Iterable<unknown>): number {
  let n = 0;
  for (const _ of items) n++;
  return n;
}

export type { Store };
