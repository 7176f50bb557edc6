import type { AsyncStore } from '../store/async-store.js';
import type { Membership } from './cluster.js';
import type { SharedJobWrites } from './config-sync.js';
import { DaemonControlImpl } from './control-impl.js';
import type { DependencyRounds } from './dependencies.js';
import type { JobTable } from './job-table.js';
import type { Base } from './parts.js';
import type { Config } from './parts-config.js';
import type { Nodes } from './parts-nodes.js';
import { runCanceller } from './remote-cancel.js';
import type { ResourceBroker } from './resource-broker.js';
import type { Runner } from './runner.js';
import type { Scheduler } from './scheduler.js';

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
