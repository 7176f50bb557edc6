/** The runner that executes runs and the scheduler that times the jobs (the leader's). */
import type { RunRecord } from '../core/types.js';
import { NotLeaderError, type AsyncStore } from '../store/async-store.js';
import type { Bell } from './bell.js';
import type { Membership } from './cluster.js';
import type { ConfigView } from './config-view.js';
import type { JobTable } from './job-table.js';
import type { ClusterNodeSlots } from './node-slots.js';
import type { Base, OutboxFor } from './parts.js';
import type { Nodes } from './parts-nodes.js';
import type { ResourceBroker } from './resource-broker.js';
import { Runner } from './runner.js';
import { Scheduler } from './scheduler.js';

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
