import { configNameOf } from '../config/names.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { JobDef, RunRecord } from '../core/types.js';
import type { Executor } from '../exec/executor.js';
import { runFinishedEntry } from '../notify/outbox.js';
import { esOutboxEntry } from '../report/outbox.js';
import type { AsyncStore } from '../store/async-store.js';
import { acquireDaemonLock } from '../store/daemon-lock.js';
import { isPostgresUrl, openStore } from '../store/open.js';
import { acquirePostgresLease } from '../store/postgres-lease.js';
import type { OutboxEntry } from '../store/store.js';
import { notifiesFor } from './adhoc.js';
import type { Bell } from './bell.js';
import type { CleanupStack } from './cleanup.js';
import { ConfigApplier } from './config-apply.js';
import { openConfigSource, type ConfigSource } from './config-source.js';
import { ConfigView } from './config-view.js';
import { DaemonControlImpl } from './control-impl.js';
import { createExecutors, tofuKnownHostsFileOf } from './executors.js';
import { JobTable } from './job-table.js';
import { isHostKeyError, watchKnownHosts } from './known-hosts-watch.js';
import { NodeHealthTracker } from './node-health.js';
import { NodeLoadBook } from './node-load.js';
import type { DaemonOptions } from './options.js';
import { Runner } from './runner.js';
import { Scheduler } from './scheduler.js';

/**
 * The daemon's parts, each built with what it needs and registering its own cleanup, so
 * startDaemon reads as the order they are wired in (and the reverse order they are undone in).
 */

/** What every part is built with. */
export interface Base {
  options: DaemonOptions;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  cleanup: CleanupStack;
}

export interface Config {
  view: ConfigView;
  source: ConfigSource;
}

/** Executors, node health and per-node load: how runs reach nodes. */
export interface Nodes {
  executor: Executor;
  health: NodeHealthTracker;
  load: NodeLoadBook;
}

export type OutboxFor = (run: RunRecord, job: JobDef | undefined) => OutboxEntry[];

export async function openConfig(base: Base): Promise<Config> {
  const source = await openConfigSource(base.options, base.logger);
  base.cleanup.push('config watcher', () => source.close());
  return { view: new ConfigView(base.options.timezone, base.logger), source };
}

/**
 * One daemon per database (until cluster mode): SQLite's `<db>.lock` file, PostgreSQL's lease
 * row. Taken before anything else, so runs found `running` later are surely this database's
 * leftovers of a stop and not another live daemon's. `onLost`: the PostgreSQL lease was taken
 * over (this daemon was paused past its expiry).
 */
export async function lockDatabase(base: Base, onLost: () => void): Promise<void> {
  const { options, logger } = base;
  if (!isPostgresUrl(options.dbPath)) {
    const lock = acquireDaemonLock(options.dbPath);
    base.cleanup.push('daemon lock', () => lock.release());
    return;
  }
  const lease = await acquirePostgresLease({
    url: options.dbPath,
    ttlMs: options.dbLeaseTtlMs,
    renewMs: options.dbLeaseRenewMs,
    logger,
    onLost,
  });
  base.cleanup.push('daemon lease', () => lease.release());
}

export async function openStorage(base: Base): Promise<AsyncStore> {
  const { options, logger, clock } = base;
  const store = await openStore(options.dbPath, { poolSize: options.dbPoolSize, logger, clock });
  base.cleanup.push('store', () => store.close());
  return store;
}

/** The job table with the config's jobs loaded and their persisted state read back. */
export async function loadJobs(base: Base, config: Config, store: AsyncStore): Promise<JobTable> {
  // Read once: the enable overrides and the schedule baselines come from the same snapshot.
  const states = await store.listJobStates();
  const jobs = new JobTable(store, base.clock, states);
  const prepared = config.view.prepare(config.source.current(), jobs);
  await jobs.applyConfig(prepared, new Map(states.map((s) => [s.job, s])));
  config.view.commit(prepared);
  // A job not in the config now was deleted: its state must not date a later job of that name.
  await jobs.forgetAbsent(states, new Set([...config.view.filesWithErrors()].map(configNameOf)));
  base.metrics.configErrors.set(config.view.filesWithErrors().size);
  return jobs;
}

/** Outbox entries queued with every final run: Elasticsearch when shipping, notifications (not for ad-hoc runs). */
export function outboxOf(options: DaemonOptions): OutboxFor {
  return (run, job) => [
    ...(options.esUrl ? [esOutboxEntry(run, job)] : []),
    ...(notifiesFor(run) ? [runFinishedEntry(run, job)] : []),
  ];
}

/** Runs found `running` at start-up were cut off by the last stop: recorded as lost. */
export async function markLost(
  base: Base,
  store: AsyncStore,
  jobs: JobTable,
  outboxFor: OutboxFor,
): Promise<RunRecord[]> {
  const lost = await store.markRunningAsLost(base.clock.now(), (run) => outboxFor(run, jobs.job(run.job)));
  if (lost.length > 0)
    base.logger.warn({ count: lost.length }, 'runs in flight when the daemon stopped are recorded as lost');
  return lost;
}

/** Executors (or a test's scripted one), node health probing and the known_hosts watch. */
export function startNodeHealth(
  base: Base,
  deps: { store: AsyncStore; config: ConfigView; bell: Bell; executor?: Executor },
): Nodes {
  const { options, clock, logger, metrics, cleanup } = base;
  const wake = () => deps.bell.ring();
  const executor =
    deps.executor ??
    createExecutors(options, { clock, logger, metrics, store: deps.store, config: deps.config, wake });
  cleanup.push('executors', () => executor.close());
  const health: NodeHealthTracker = new NodeHealthTracker({
    clock,
    logger,
    probe: (node) => executor.probe(node),
    lookup: (name) => deps.config.nodeMap().get(name),
    onChange: () => updateNodeGauges(metrics, health, deps.config),
    initialBackoffMs: options.nodeProbeInitialMs,
    maxBackoffMs: options.nodeProbeMaxMs,
  });
  cleanup.push('node health', () => health.close());
  const onKeysChanged = (file: string) => {
    const nodes = health.reprobeNow(isHostKeyError);
    if (nodes.length > 0)
      logger.info({ file, nodes }, 'known_hosts changed; probing nodes down for their host key');
  };
  cleanup.push(
    'known_hosts watch',
    watchKnownHosts([options.knownHostsFile, tofuKnownHostsFileOf(options)], onKeysChanged),
  );
  updateNodeGauges(metrics, health, deps.config);
  return { executor, health, load: new NodeLoadBook(metrics) };
}

function updateNodeGauges(metrics: Metrics, health: NodeHealthTracker, config: ConfigView): void {
  const { down } = health.counts();
  metrics.nodesDown.set(down);
  metrics.nodesUp.set(config.nodeMap().size - down);
}

export function buildRunner(
  base: Base,
  deps: {
    store: AsyncStore;
    config: ConfigView;
    jobs: JobTable;
    nodes: Nodes;
    outboxFor: OutboxFor;
    bell: Bell;
    random: () => number;
  },
): Runner {
  const { options } = base;
  const { health, load } = deps.nodes;
  return new Runner({
    clock: base.clock,
    logger: base.logger,
    metrics: base.metrics,
    store: deps.store,
    executor: deps.nodes.executor,
    health,
    jobs: deps.jobs,
    nodes: () => deps.config.nodeMap(),
    slots: (node) => load.slots(node),
    load: (name) => load.load(name, health.isUp(name)),
    noteStart: (name) => load.start(name),
    noteEnd: (name) => load.end(name),
    roundRobin: new Map(),
    random: deps.random,
    outputLimitBytes: options.outputLimitBytes,
    defaultTimeoutMs: options.defaultTimeoutMs,
    outboxFor: deps.outboxFor,
    onFinished: () => deps.bell.ring(),
  });
}

/** Times every loaded job; not started yet (the services come first). */
export function buildScheduler(base: Base, jobs: JobTable, runner: Runner): Scheduler {
  const scheduler = new Scheduler({
    clock: base.clock,
    logger: base.logger,
    graceMs: base.options.graceMs,
    maxWaitMs: base.options.maxWaitMs,
    jobs,
    execute: (job, plan, latest) => runner.firePlan(job, plan, latest),
    onClaimError: () => base.metrics.claimErrors.inc(),
  });
  base.cleanup.push('scheduler', () => scheduler.stop());
  scheduler.scheduleAll();
  return scheduler;
}

/**
 * Config changes from now on: applied to the job table, scheduler and view; nodes follow.
 * Returns how to wait until what the source has read so far is applied (read-your-writes).
 */
export function wireConfig(
  base: Base,
  deps: { config: Config; jobs: JobTable; scheduler: Scheduler; nodes: Nodes },
): () => Promise<void> {
  const { logger, metrics } = base;
  const { view, source } = deps.config;
  const applier = new ConfigApplier({
    config: view,
    jobs: deps.jobs,
    scheduler: deps.scheduler,
    logger,
    onApplied: (diff) => {
      for (const name of diff.nodesRemoved) deps.nodes.health.forget(name);
      for (const node of view.nodeMap().values()) deps.nodes.load.resize(node);
      updateNodeGauges(metrics, deps.nodes.health, view);
      metrics.configErrors.set(view.filesWithErrors().size);
      if (diff.upserted.length + diff.removed.length > 0)
        logger.info({ changed: diff.upserted.length, removed: diff.removed.length }, 'config applied');
    },
  });
  base.cleanup.push('config applier', () => applier.close());
  source.onChange((state) => {
    void applier.apply(state).then(() => metrics.configErrors.set(view.filesWithErrors().size));
  });
  return () => applier.idle();
}

/** The programmatic API (REST API, CLI, tests): queries and commands over the parts. */
export function buildControl(
  base: Base,
  deps: {
    store: AsyncStore;
    config: Config;
    jobs: JobTable;
    scheduler: Scheduler;
    runner: Runner;
    nodes: Nodes;
    /** Resolves once the config read so far is applied. */
    applied: () => Promise<void>;
  },
): DaemonControlImpl {
  const { view, source } = deps.config;
  return new DaemonControlImpl({
    store: deps.store,
    metrics: base.metrics,
    config: view,
    jobs: deps.jobs,
    scheduler: deps.scheduler,
    runner: deps.runner,
    health: deps.nodes.health,
    jobsDir: base.options.jobsDir,
    nodeInFlight: (name) => deps.nodes.load.load(name, true).inFlight,
    validateJobBody: (name, body) => source.validateJobBody(name, body, view.nodeMap()),
    isValidJobName: (name) => source.isValidJobName(name),
    reload: async (file) => {
      await source.refresh([file]);
      await deps.applied();
    },
  });
}
