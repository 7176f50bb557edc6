import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { configNameOf } from '../config/names.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { JobDef, RunRecord } from '../core/types.js';
import type { Executor } from '../exec/executor.js';
import { runFinishedEntry } from '../notify/outbox.js';
import { esOutboxEntry } from '../report/outbox.js';
import { NotLeaderError, type AsyncStore } from '../store/async-store.js';
import { acquireDaemonLock } from '../store/daemon-lock.js';
import { isPostgresUrl, openStore } from '../store/open.js';
import type { OutboxEntry } from '../store/store.js';
import { notifiesFor } from './adhoc.js';
import type { Bell } from './bell.js';
import type { CleanupStack } from './cleanup.js';
import { ConfigApplier } from './config-apply.js';
import { openConfigSource, type ConfigSource } from './config-source.js';
import { ConfigView } from './config-view.js';
import type { SharedJobWrites } from './config-sync.js';
import { DaemonControlImpl } from './control-impl.js';
import { runCanceller } from './remote-cancel.js';
import type { DependencyRounds } from './dependencies.js';
import { createExecutors, tofuKnownHostsFileOf } from './executors.js';
import { JobTable } from './job-table.js';
import { isHostKeyError, watchKnownHosts } from './known-hosts-watch.js';
import { NodeHealthTracker } from './node-health.js';
import { NodeLoadBook } from './node-load.js';
import type { ClusterNodeSlots } from './node-slots.js';
import {
  LocalMembership,
  PostgresMembership,
  type LeadershipHandlers,
  type Membership,
  type SelfInfo,
} from './cluster.js';
import { checkLeaseSettings, memberIdOf, type DaemonOptions } from './options.js';
import type { ResourceBroker } from './resource-broker.js';
import { rerunOfLost } from './run-records.js';
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
 * SQLite: one daemon per database file (its `<db>.lock`), taken before anything else, so runs
 * found `running` later are surely leftovers of this daemon's last stop. PostgreSQL: several
 * daemons share the database as members of a cluster (see joinCluster); nothing to lock here.
 */
export function lockDatabase(base: Base): void {
  const { options } = base;
  if (isPostgresUrl(options.dbPath)) return;
  const lock = acquireDaemonLock(options.dbPath);
  base.cleanup.push('daemon lock', () => lock.release());
}

/**
 * This daemon's membership: on PostgreSQL it checks its member id is free and heartbeats once
 * (so its runs are never taken for a dead member's); leadership starts later (start()). SQLite:
 * the daemon alone, always leader. The heartbeat stops last but the store (after the drain).
 */
export async function joinCluster(
  base: Base,
  deps: {
    store: AsyncStore;
    jobs: JobTable;
    config: Config;
    inFlight: () => number;
    outboxFor: OutboxFor;
    onLost: (runs: RunRecord[]) => void;
  },
): Promise<Membership> {
  const { options, logger, clock } = base;
  checkLeaseSettings(options);
  const id = memberIdOf(options, hostname(), process.pid);
  const self: SelfInfo = {
    id,
    listen: options.listen,
    pid: process.pid,
    host: hostname(),
    startedAt: clock.now(),
    configHash: configHashOf(deps.jobs, deps.config.view),
    inFlight: deps.inFlight,
  };
  const cluster = deps.store.cluster;
  if (!cluster) return new LocalMembership(self);
  const membership = new PostgresMembership({
    cluster,
    self,
    ttlMs: options.leaseTtlMs,
    renewMs: options.leaseRenewMs,
    logger,
    now: () => clock.now(),
    outboxFor: (run) => deps.outboxFor(run, deps.jobs.job(run.job)),
    onLost: deps.onLost,
    rerunOf: (run) => rerunOfLost(run, deps.jobs.job(run.job), clock.now()),
  });
  await membership.join();
  base.cleanup.push('cluster heartbeat', () => membership.close());
  logger.info({ member: id }, 'cluster: joined');
  return membership;
}

/** Members may keep their config directories at different paths: the hash is of the content. */
const withoutFile = (key: string, value: unknown) => (key === 'file' ? undefined : value);

/** A hash of the jobs and nodes this member runs, recomputed only when either changed. */
function configHashOf(jobs: JobTable, view: ConfigView): () => string {
  let seen: { defs: readonly JobDef[]; nodes: ReadonlyMap<string, unknown>; hash: string } | null = null;
  return () => {
    const defs = jobs.jobs();
    const nodes = view.nodeMap();
    if (seen?.defs === defs && seen.nodes === nodes) return seen.hash;
    const hash = createHash('sha256');
    for (const job of [...defs].sort((a, b) => a.name.localeCompare(b.name)))
      hash.update(JSON.stringify(job, withoutFile));
    for (const name of [...nodes.keys()].sort()) hash.update(JSON.stringify(nodes.get(name), withoutFile));
    seen = { defs, nodes, hash: hash.digest('hex').slice(0, 16) };
    return seen.hash;
  };
}

/**
 * Leadership drives the scheduler: a new leader (on PostgreSQL) first takes the last instants
 * the previous leader stored, then schedules every job from them — the instants since go
 * through each job's `catch_up` policy, as after a restart; a follower does not schedule.
 */
export function leadershipOf(store: AsyncStore, jobs: JobTable, scheduler: Scheduler): LeadershipHandlers {
  return {
    lead: async () => {
      await scheduler.stop();
      if (store.cluster) {
        await jobs.adoptStoredBaselines(await store.listJobStates());
        scheduler.scheduleAll();
      }
      scheduler.start();
    },
    follow: () => scheduler.stop(),
  };
}

export async function openStorage(base: Base): Promise<AsyncStore> {
  const { options, logger, clock } = base;
  const store = await openStore(options.dbPath, {
    poolSize: options.dbPoolSize,
    logger,
    clock,
    // A member paused inside a claim holds the lease row FOR SHARE: the server ends its session
    // after the TTL so the next leader's takeover is not blocked by it.
    idleInTransactionTimeoutMs: options.leaseTtlMs,
  });
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
  member: string,
): Promise<RunRecord[]> {
  // On PostgreSQL only this member's own: the other members' runs are theirs (or the leader's to
  // record lost when their heartbeat stops).
  const lost = await store.markRunningAsLost(
    base.clock.now(),
    (run) => outboxFor(run, jobs.job(run.job)),
    member,
  );
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
    /** Rung with each run whose outcome is stored (dependency rounds listen). */
    finished: Bell<RunRecord>;
    random: () => number;
    membership: Membership;
    resources?: ResourceBroker;
    slots: ClusterNodeSlots;
    /** Rung when this member queued executions. */
    queued: Bell;
  },
): Runner {
  const { options } = base;
  const { health, load } = deps.nodes;
  const { slots } = deps;
  return new Runner({
    clock: base.clock,
    logger: base.logger,
    metrics: base.metrics,
    store: deps.store,
    executor: deps.nodes.executor,
    health,
    jobs: deps.jobs,
    nodes: () => deps.config.nodeMap(),
    slots,
    load: (name) => ({ up: health.isUp(name), inFlight: slots.othersInFlight(name) + load.runningOn(name) }),
    refreshLoads: () => slots.refreshLoads().catch(() => undefined),
    noteStart: (name) => load.start(name),
    noteEnd: (name) => load.end(name),
    roundRobin: new Map(),
    random: deps.random,
    outputLimitBytes: options.outputLimitBytes,
    defaultTimeoutMs: options.defaultTimeoutMs,
    outboxFor: deps.outboxFor,
    fence: () => deps.membership.fence(),
    member: deps.membership.memberId,
    onFinished: (run) => {
      deps.bell.ring();
      deps.finished.ring(run);
    },
    resources: deps.resources,
    onQueued: () => deps.queued.ring(),
    jobDef: (name) => deps.jobs.job(name),
    remotePollMs: options.queuePollMs,
  });
}

/** Times every loaded job; not started yet (the services come first). */
export function buildScheduler(
  base: Base,
  jobs: JobTable,
  runner: Runner,
  membership: Pick<Membership, 'lostLeadership'>,
): Scheduler {
  const scheduler = new Scheduler({
    clock: base.clock,
    logger: base.logger,
    graceMs: base.options.graceMs,
    maxWaitMs: base.options.maxWaitMs,
    jobs,
    execute: (fires) => runner.fireDue(fires),
    onClaimError: (_job, err) => {
      // Not a store failure: this member's lease is gone; it becomes a follower.
      if (err instanceof NotLeaderError) membership.lostLeadership();
      else base.metrics.claimErrors.inc();
    },
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
    membership: Membership;
    /** Resolves once the config read so far is applied. */
    applied: () => Promise<void>;
    resources?: ResourceBroker;
    rounds: DependencyRounds;
    shared?: SharedJobWrites;
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
    cancel: runCanceller({ ...deps, clock: base.clock, member: deps.membership.memberId }),
    validateJobBody: (name, body) => source.validateJobBody(name, body, view.nodeMap()),
    isValidJobName: (name) => source.isValidJobName(name),
    membership: deps.membership,
    resources: deps.resources,
    rounds: deps.rounds,
    ...(deps.shared ? { shared: deps.shared } : {}),
    reload: async (file) => {
      await source.refresh([file]);
      await deps.applied();
    },
  });
}
