/**
 * GET /api/v1/cluster (SPEC §15): the members as this member sees them, with who leads, who is
 * alive and whose configuration matches the leader's.
 */
import type { MemberRow } from '../store/async-store.js';
import type { SelfInfo } from './cluster.js';

export interface ClusterView {
  self: string;
  leader: string | null;
  epoch: number;
  members: ClusterMemberView[];
}

export interface ClusterMemberView {
  id: string;
  listen: string | null;
  pid: number;
  host: string;
  alive: boolean;
  leader: boolean;
  heartbeat_age_ms: number;
  config_hash: string | null;
  /** Whether this member runs the leader's configuration (null while no leader is known). */
  config_matches_leader: boolean | null;
  runs_in_flight: number;
}

/** SQLite: the daemon alone, always leader under epoch 1. */
export function localClusterView(self: SelfInfo): ClusterView {
  return {
    self: self.id,
    leader: self.id,
    epoch: 1,
    members: [
      {
        id: self.id,
        listen: self.listen,
        pid: self.pid,
        host: self.host,
        alive: true,
        leader: true,
        heartbeat_age_ms: 0,
        config_hash: self.configHash(),
        config_matches_leader: true,
        runs_in_flight: self.inFlight(),
      },
    ],
  };
}

/**
 * PostgreSQL: the member rows as read, except this member's own configuration hash and runs in
 * flight, which are taken live rather than as of its last heartbeat.
 */
export function clusterViewOf(o: {
  self: SelfInfo;
  members: MemberRow[];
  leader: string | null;
  epoch: number;
  ttlMs: number;
}): ClusterView {
  const { self, leader } = o;
  const hashOf = (m: MemberRow) => (m.id === self.id ? self.configHash() : m.configHash);
  const leaderRow = o.members.find((m) => m.id === leader);
  const leaderHash = leaderRow ? hashOf(leaderRow) : null;
  return {
    self: self.id,
    leader,
    epoch: o.epoch,
    members: o.members.map((m) => {
      const own = m.id === self.id;
      return {
        id: m.id,
        listen: m.listen,
        pid: m.pid,
        host: m.host,
        alive: m.heartbeatAgeMs <= o.ttlMs,
        leader: m.id === leader,
        heartbeat_age_ms: m.heartbeatAgeMs,
        config_hash: hashOf(m),
        config_matches_leader: leaderHash === null ? null : hashOf(m) === leaderHash,
        runs_in_flight: own ? self.inFlight() : m.inFlight,
      };
    }),
  };
}
