import { systemClock } from '../core/clock.js';
import { createLogger } from '../core/log.js';
import { Metrics } from '../core/metrics.js';
import type { Executor } from '../exec/executor.js';
import type { RunRecord } from '../core/types.js';
import type { AsyncStore } from '../store/async-store.js';
import type { Membership } from './cluster.js';
import { Bell } from './bell.js';
import { CleanupStack } from './cleanup.js';
import { startConfigSync } from './config-sync.js';
import type { ConfigView } from './config-view.js';
import type { DaemonControl } from './control.js';
import { withDefaults, type DaemonOptions, type DaemonRuntime } from './options.js';
import { lockDatabase, markLost, openStorage, outboxOf, type Base, type OutboxFor } from './parts.js';
import { joinCluster, leadershipOf } from './parts-cluster.js';
import { loadJobs, openConfig, wireConfig, type Config } from './parts-config.js';
import { buildControl } from './parts-control.js';
import { startNodeHealth, type Nodes } from './parts-nodes.js';
import { buildNodeSlots, startRunQueue } from './parts-queue.js';
import { buildRunner, buildScheduler } from './parts-runs.js';
import { openResources } from './resource-part.js';
import { startDependencies } from './dependencies.js';
import type { ClusterNodeSlots } from './node-slots.js';
import { startRetention } from './retention.js';
import { startServices, type Services } from './services.js';
import type { JobTable } from './job-table.js';
import type { Runner } from './runner.js';
import type { Scheduler } from './scheduler.js';

export interface Daemon {
  readonly options: DaemonOptions;
  readonly control: DaemonControl;
  /** The daemon's store (embedding, tests); closed by close(). */
  readonly store: AsyncStore;
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

/**
 * Wires the parts in order; each registers its own cleanup, so close() undoes them in reverse:
 * stop scheduling → retention → drain runs (cancelling at the grace) → services → … → store → lock.
 */
export async function startDaemon(
  partial: Partial<DaemonOptions>,
  runtime: DaemonTestRuntime = {},
): Promise<Daemon> {
  const base = baseOf(withDefaults(partial), runtime);
  try {
    const { config, store, jobs } = await openState(base);
    const outboxFor = outboxOf(base.options);
    // Runs finished and notices queued ring it; the outbox services listen once started.
    const bell = new Bell();
    const nodes = startNodeHealth(base, { store, config: config.view, bell, executor: runtime.executor });
    const membership = await joinCluster(base, {
      ...{ store, jobs, config, outboxFor },
      inFlight: () => nodes.load.running,
      onLost: () => bell.ring(),
    });
    const lost = await markLost(base, store, jobs, outboxFor, membership.memberId);
    const execution = await buildExecution(base, runtime, {
      store,
      config,
      jobs,
      nodes,
      outboxFor,
      bell,
      membership,
    });
    const { runner, scheduler, finished } = execution;
    const applied = wireConfig(base, { config, jobs, scheduler, nodes });
    const rounds = startDependencies(base, { store, jobs, runner, finished, config: config.source, applied });
    const member = membership.memberId;
    const shared = await startConfigSync(base, { store, jobs, source: config.source, applied, member });
    const parts = { ...execution, store, config, jobs, nodes, membership, applied, rounds, shared };
    const control = buildControl(base, parts);
    const services = await startOutwardServices(base, { store, jobs, membership, control, bell });
    await startScheduling(base, parts);
    if (lost.length > 0) services.wake();
    logReady(base, jobs, config.view, services);
    return daemonOf(base, { control, store, services, config, applied });
  } catch (err) {
    await closeParts(base);
    throw err;
  }
}

/** Clock, logger and metrics every part shares (a test may bring its own clock and logger). */
function baseOf(options: DaemonOptions, runtime: DaemonRuntime): Base {
  return {
    options,
    clock: runtime.clock ?? systemClock,
    logger: runtime.logger ?? createLogger(options.logLevel),
    metrics: new Metrics({ jobLabels: options.metricsJobLabels }),
    cleanup: new CleanupStack(),
  };
}

/** Runs the cleanup stack, logging (not throwing) the steps that fail. */
function closeParts(base: Base): Promise<void> {
  return base.cleanup.run((name, err) => base.logger.error({ err, step: name }, 'shutdown step failed'));
}

/** The database lock, the config source, the store and the job table loaded from both. */
async function openState(base: Base): Promise<{ config: Config; store: AsyncStore; jobs: JobTable }> {
  lockDatabase(base);
  const config = await openConfig(base);
  const store = await openStorage(base);
  const jobs = await loadJobs(base, config, store);
  return { config, store, jobs };
}

/** Resource pools, node slots, the runner and the scheduler: what fires and executes runs. */
async function buildExecution(
  base: Base,
  runtime: DaemonRuntime,
  deps: {
    store: AsyncStore;
    config: Config;
    jobs: JobTable;
    nodes: Nodes;
    outboxFor: OutboxFor;
    bell: Bell;
    membership: Membership;
  },
) {
  const { store, config, jobs, nodes, outboxFor, bell, membership } = deps;
  const finished = new Bell<RunRecord>();
  const resources = await openResources(base, { store, config: config.view });
  const random = runtime.random ?? Math.random;
  const slots = buildNodeSlots(base, store, membership.memberId);
  const queued = new Bell();
  const runner = buildRunner(base, {
    ...{ store, config: config.view, jobs, nodes, outboxFor, bell, finished, random },
    ...{ membership, resources, slots, queued },
  });
  const scheduler = buildScheduler(base, jobs, runner, membership);
  return { finished, resources, slots, queued, runner, scheduler };
}

/** The outward-facing services (REST API, Elasticsearch shipper, notifier), woken by the bell. */
async function startOutwardServices(
  base: Base,
  deps: { store: AsyncStore; jobs: JobTable; membership: Membership; control: DaemonControl; bell: Bell },
): Promise<Services> {
  const { store, jobs, membership, control } = deps;
  const services = await startServices(base.options, {
    ...base,
    store,
    remindsHere: () => membership.health().role === 'leader',
    control,
    jobs: (name) => jobs.job(name),
  });
  base.cleanup.push('services', () => services.close());
  deps.bell.listen(() => services.wake());
  return services;
}

/**
 * The top of the shutdown ladder, pushed last so it runs first: stop scheduling (giving the lease
 * up), then retention, then drain — before the API stops, or cancellations would be lost.
 */
async function startScheduling(
  base: Base,
  parts: {
    store: AsyncStore;
    jobs: JobTable;
    scheduler: Scheduler;
    runner: Runner;
    membership: Membership;
    slots: ClusterNodeSlots;
    queued: Bell;
  },
): Promise<void> {
  const { options, cleanup, clock, logger } = base;
  cleanup.push('drain', () => parts.runner.drain(options.shutdownGraceMs));
  cleanup.push('retention', startRetention(parts.store, options, clock, logger));
  // Every member executes what is queued (SQLite: this daemon alone).
  await startRunQueue(base, { ...parts, member: parts.membership.memberId });
  // The leader schedules (SQLite: this daemon, at once).
  await parts.membership.start(leadershipOf(parts.store, parts.jobs, parts.scheduler));
  cleanup.push('stop scheduling', async () => {
    await parts.membership.resign();
    await parts.scheduler.stop();
  });
}

function logReady(base: Base, jobs: JobTable, config: ConfigView, services: Services): void {
  const ready = { jobs: jobs.jobs().length, nodes: config.nodeMap().size, api: services.apiUrl };
  base.logger.info(ready, 'distcron ready');
}

/** The handle startDaemon returns: reload re-reads the whole config and waits until it is applied. */
function daemonOf(
  base: Base,
  parts: {
    control: DaemonControl;
    store: AsyncStore;
    services: Services;
    config: Config;
    applied: () => Promise<void>;
  },
): Daemon {
  return {
    options: base.options,
    control: parts.control,
    store: parts.store,
    apiUrl: parts.services.apiUrl,
    reload: async () => {
      await parts.config.source.reloadAll();
      await parts.applied();
    },
    close: () => closeParts(base),
  };
}
