/**
 * The cluster's tables on PostgreSQL (SPEC §15): each member's heartbeat row and the singleton
 * leader lease. Every time is the database's own (`now()`), never a member's clock: members on
 * machines whose clocks disagree still agree on who leads and who is dead. No session advisory
 * locks: the lease is a row, so it survives a connection drop and expires on its own.
 */
import type { Millis, RunRecord } from '../core/types.js';
import type { ClusterStore, LeaseState, MemberInfo, MemberRow, RerunOf } from './async-store.js';
import type { PgOps } from './postgres-ops.js';
import type { Session } from './postgres-session.js';
import type { OutboxEntry } from './store.js';

const HEARTBEAT = `
INSERT INTO cluster_members (id, listen, pid, host, started_at, heartbeat_at, config_hash, in_flight)
VALUES ($1, $2, $3, $4, $5, now(), $6, $7)
ON CONFLICT (id) DO UPDATE SET listen = excluded.listen, pid = excluded.pid, host = excluded.host,
  started_at = excluded.started_at, heartbeat_at = now(), config_hash = excluded.config_hash,
  in_flight = excluded.in_flight`;

/**
 * Renews the lease when `$1` holds it unexpired (same epoch), takes it when it is expired (or
 * has never been taken) with the next epoch; otherwise changes nothing and returns no row.
 */
const TAKE_OR_RENEW = `
INSERT INTO cluster_lease AS l (id, holder, epoch, acquired_at, expires_at)
VALUES (1, $1, 1, now(), now() + $2 * interval '1 millisecond')
ON CONFLICT (id) DO UPDATE SET
  holder = excluded.holder,
  epoch = CASE WHEN l.holder = excluded.holder AND l.expires_at > now() THEN l.epoch ELSE l.epoch + 1 END,
  acquired_at = CASE WHEN l.holder = excluded.holder AND l.expires_at > now() THEN l.acquired_at ELSE now() END,
  expires_at = excluded.expires_at
WHERE l.expires_at <= now() OR l.holder = excluded.holder
RETURNING holder, epoch, floor(extract(epoch FROM expires_at - now()) * 1000)::bigint AS left_ms`;

const CURRENT = `
SELECT holder, epoch, floor(extract(epoch FROM expires_at - now()) * 1000)::bigint AS left_ms
FROM cluster_lease WHERE id = 1`;

const MEMBERS = `
SELECT id, listen, pid, host, started_at, config_hash, in_flight,
  floor(extract(epoch FROM now() - heartbeat_at) * 1000)::bigint AS age_ms
FROM cluster_members WHERE heartbeat_at > now() - $1 * interval '1 millisecond' ORDER BY id`;

interface LeaseRow {
  holder: string;
  epoch: string;
  left_ms: string;
}

interface MemberDbRow {
  id: string;
  listen: string | null;
  pid: number;
  host: string;
  started_at: Date | string;
  config_hash: string | null;
  in_flight: number;
  age_ms: string;
}

export class PgCluster implements ClusterStore {
  constructor(
    private readonly s: Session,
    private readonly ops: Pick<PgOps, 'markLostOfDeadMembers'>,
    /** Starts a LISTEN connection of its own (see postgres-listen.ts). */
    private readonly listen: (onWake: () => void, onCancel?: () => void) => Promise<() => Promise<void>>,
  ) {}

  async heartbeat(m: MemberInfo): Promise<void> {
    await this.s.query(HEARTBEAT, [
      m.id,
      m.listen,
      m.pid,
      m.host,
      new Date(m.startedAt).toISOString(),
      m.configHash,
      m.inFlight,
    ]);
  }

  async tryAcquireOrRenew(memberId: string, ttlMs: number): Promise<LeaseState> {
    const taken = await this.s.query<LeaseRow>(TAKE_OR_RENEW, [memberId, Math.round(ttlMs)]);
    const row = taken.rows[0] ?? (await this.s.query<LeaseRow>(CURRENT)).rows[0];
    if (!row) return { holder: null, epoch: 0, expiresInMs: 0 };
    const left = Number(row.left_ms);
    return { holder: left > 0 ? row.holder : null, epoch: Number(row.epoch), expiresInMs: Math.max(0, left) };
  }

  async releaseLease(memberId: string): Promise<void> {
    await this.s.query('UPDATE cluster_lease SET expires_at = now() WHERE id = 1 AND holder = $1', [
      memberId,
    ]);
  }

  async listMembers(withinMs: number): Promise<MemberRow[]> {
    const { rows } = await this.s.query<MemberDbRow>(MEMBERS, [Math.round(withinMs)]);
    return rows.map((r) => ({
      id: r.id,
      listen: r.listen,
      pid: r.pid,
      host: r.host,
      startedAt: new Date(r.started_at).getTime(),
      configHash: r.config_hash,
      inFlight: r.in_flight,
      heartbeatAgeMs: Math.max(0, Number(r.age_ms)),
    }));
  }

  async forgetMembers(olderThanMs: number): Promise<number> {
    const { rowCount } = await this.s.query(
      "DELETE FROM cluster_members WHERE heartbeat_at < now() - $1 * interval '1 millisecond'",
      [Math.round(olderThanMs)],
    );
    return rowCount;
  }

  markLostOfDeadMembers(
    ttlMs: number,
    except: string,
    now: Millis,
    outboxFor: (run: RunRecord) => OutboxEntry[],
    rerunOf?: RerunOf,
  ): Promise<RunRecord[]> {
    return this.ops.markLostOfDeadMembers(ttlMs, except, now, outboxFor, rerunOf);
  }

  watchQueue(onWake: () => void, onCancel?: () => void): Promise<() => Promise<void>> {
    return this.listen(onWake, onCancel);
  }
}
