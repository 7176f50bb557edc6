import { systemClock } from '../core/clock.js';
import { createLogger } from '../core/log.js';
import { Metrics } from '../core/metrics.js';
import type { RunRecord } from '../core/types.js';
import type { Executor } from '../exec/executor.js';
import type { AsyncStore } from '../store/async-store.js';
import { Bell } from './bell.js';
import { leaderOnlyOutbox } from './cluster.js';
import { CleanupStack } from './cleanup.js';
import type { DaemonControl } from './control.js';
import { withDefaults, type DaemonOptions, type DaemonRuntime } from './options.js';
import {
  buildControl,
  buildRunner,
  buildScheduler,
  loadJobs,
  joinCluster,
  leadershipOf,
  lockDatabase,
  markLost,
  openConfig,
  openStorage,
  outboxOf,
  startNodeHealth,
  wireConfig,
  type Base,
} from './parts.js';
import { startRetention } from './retention.js';
import { startServices } from './services.js';
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
  const { options, logger } = base;
  const onCleanupError = (name: string, err: unknown) =>
    logger.error({ err, step: name }, 'shutdown step failed');
  try {
    lockDatabase(base);
    const config = await openConfig(base);
    const store = await openStorage(base);
    const jobs = await loadJobs(base, config, store);
    const outboxFor = outboxOf(options);
    // Bound once they exist: runs in flight (the runner) and waking the outbox (the services).
    let inFlight = () => 0;
    let wake: (run: RunRecord) => void = () => undefined;
    const membership = await joinCluster(base, {
      store,
      jobs,
      config,
      outboxFor,
      inFlight: () => inFlight(),
      onLost: (runs) => runs.forEach((run) => wake(run)),
    });
    const lost = await markLost(base, store, jobs, outboxFor, membership.memberId);
    // Runs finished and notices queued ring it; the outbox services listen once started.
    const bell = new Bell();
    const nodes = startNodeHealth(base, { store, config: config.view, bell, executor: runtime.executor });
    const random = runtime.random ?? Math.random;
    const runner = buildRunner(base, {
      ...{ store, config: config.view, jobs, nodes, outboxFor, bell, random },
      membership,
    });
    inFlight = () => runner.inFlight();
    const scheduler = buildScheduler(base, jobs, runner, membership);
    const applied = wireConfig(base, { config, jobs, scheduler, nodes });
    const control = buildControl(base, {
      store,
      config,
      jobs,
      scheduler,
      runner,
      nodes,
      membership,
      applied,
    });
    const services = await startServices(options, {
      ...base,
      store,
      outboxStore: leaderOnlyOutbox(store, () => membership.health().role === 'leader'),
      control,
      jobs: (name) => jobs.job(name),
    });
    base.cleanup.push('services', () => services.close());
    bell.listen(() => services.wake());
    wake = (run) => services.wake(run);
    // Drain after the API stops taking new runs would lose cancellations: so the ladder drains first.
    base.cleanup.push('drain', () => runner.drain(options.shutdownGraceMs));
    base.cleanup.push('retention', startRetention(store, options, base.clock, logger));
    // The leader schedules (SQLite: this daemon, at once); stopping gives the lease up first.
    await membership.start(leadershipOf(store, jobs, scheduler));
    base.cleanup.push('stop scheduling', async () => {
      await membership.resign();
      await scheduler.stop();
    });
    for (const run of lost) services.wake(run);
    const ready = { jobs: jobs.jobs().length, nodes: config.view.nodeMap().size, api: services.apiUrl };
    logger.info(ready, 'distcron ready');
    return {
      options,
      control,
      store,
      apiUrl: services.apiUrl,
      reload: async () => {
        await config.source.reloadAll();
        await applied();
      },
      close: () => base.cleanup.run(onCleanupError),
    };
  } catch (err) {
    await base.cleanup.run(onCleanupError);
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
