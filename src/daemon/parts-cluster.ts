/** This daemon's membership of the cluster (SPEC §15) and how leadership drives the scheduler. */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { JobDef, RunRecord } from '../core/types.js';
import type { AsyncStore } from '../store/async-store.js';
import { LocalMembership, type LeadershipHandlers, type Membership, type SelfInfo } from './cluster.js';
import type { ConfigView } from './config-view.js';
import type { JobTable } from './job-table.js';
import { checkLeaseSettings, memberIdOf } from './options.js';
import type { Base, OutboxFor } from './parts.js';
import type { Config } from './parts-config.js';
import { PostgresMembership } from './postgres-membership.js';
import { rerunOfLost } from './run-records.js';
import type { Scheduler } from './scheduler.js';

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
