/**
 * Several daemons on one PostgreSQL database (SPEC §15 items 3, 5 (lost runs), 6, 7): each
 * member heartbeats a row and the members elect one leader through the lease row; only the
 * leader schedules and its claims carry its fence. This file is the contract the runner, the
 * API and the daemon's wiring see (Membership); the PostgreSQL member is in
 * postgres-membership.ts (lease and leadership) and cluster-members.ts (heartbeats, dead
 * members), the cluster view in cluster-view.ts.
 *
 * SQLite is a one-member cluster of itself (its lock file keeps a second daemon out): the
 * member is always leader with epoch 1 and its claims carry no fence.
 */
import type { Millis } from '../core/types.js';
import type { ClaimFence } from '../store/async-store.js';
import { localClusterView, type ClusterView } from './cluster-view.js';

export type { ClusterMemberView, ClusterView } from './cluster-view.js';

export type Role = 'leader' | 'follower';

export interface ClusterHealth {
  role: Role;
  /** Why the member cannot reach the lease or heartbeat (PostgreSQL down), if so. */
  problem?: string;
  /** This member's loaded configuration has differed from the leader's for two heartbeats, if so. */
  configProblem?: string;
}

/** What the daemon does when this member's role changes (the scheduler's start and stop). */
export interface LeadershipHandlers {
  /** Became leader under `epoch`: reload the baselines, schedule, start claiming. */
  lead(epoch: number): Promise<void>;
  /** No longer leader: stop the scheduler (claims would be refused anyway). */
  follow(): Promise<void>;
}

/** This member's place in the cluster, as the runner, the API and the daemon's wiring see it. */
export interface Membership {
  readonly memberId: string;
  /** The fence for a claim now; throws NotLeaderError when this member may not claim. */
  fence(): ClaimFence | undefined;
  /** A claim came back NotLeaderError: this member is no longer leader. */
  lostLeadership(): void;
  health(): ClusterHealth;
  view(): Promise<ClusterView>;
  /** Starts heartbeating and competing for the lease (SQLite: leads at once). */
  start(handlers: LeadershipHandlers): Promise<void>;
  /** Stops leading and gives the lease up (first rung of the shutdown ladder); keeps heartbeating. */
  resign(): Promise<void>;
  /** Stops heartbeating (after the drain: runs in flight must not look dead meanwhile). */
  close(): Promise<void>;
}

export interface SelfInfo {
  id: string;
  listen: string | null;
  pid: number;
  host: string;
  startedAt: Millis;
  /** Hash of the configuration this member runs (jobs and nodes). */
  configHash: () => string | null;
  /** Runs executing on this member now. */
  inFlight: () => number;
}

/** Members dead longer than this are no longer listed. */
export const DEAD_LISTED_MS = 3_600_000;

/** SQLite: the daemon alone. */
export class LocalMembership implements Membership {
  constructor(private readonly self: SelfInfo) {}

  get memberId(): string {
    return this.self.id;
  }

  fence(): ClaimFence | undefined {
    return undefined;
  }

  lostLeadership(): void {}

  health(): ClusterHealth {
    return { role: 'leader' };
  }

  view(): Promise<ClusterView> {
    return Promise.resolve(localClusterView(this.self));
  }

  async start(handlers: LeadershipHandlers): Promise<void> {
    await handlers.lead(1);
  }

  async resign(): Promise<void> {}

  async close(): Promise<void> {}
}
