/**
 * Several daemons on one PostgreSQL database (SPEC §15 items 3, 5 (lost runs), 6, 7): each
 * member heartbeats a row; the members elect one leader through the lease row (holder, epoch,
 * expiry in the database's clock). Only the leader runs the scheduler, and every claim it makes
 * carries its fence (member, epoch), checked by the claim's own transaction, so an ex-leader that
 * was paused or cut off claims nothing when it wakes. It also stops claiming by itself before its
 * lease can expire: at (start of its last successful renew, by its monotonic clock) + TTL −
 * margin. On becoming leader a member re-reads every job's persisted last instant (the old
 * leader advanced them) and schedules from there: the instants between two leaders go through
 * each job's `catch_up` policy, as after a restart. The leader also records as `lost` the
 * `running` runs of members whose heartbeat is older than the TTL.
 *
 * SQLite is a one-member cluster of itself (its lock file keeps a second daemon out): the
 * member is always leader with epoch 1 and its claims carry no fence.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../core/log.js';
import type { Millis, RunRecord } from '../core/types.js';
import {
  NotLeaderError,
  type ClaimFence,
  type ClusterStore,
  type LeaseState,
  type MemberInfo,
  type MemberRow,
  type RerunOf,
} from '../store/async-store.js';
import { DaemonLockedError } from '../store/daemon-lock.js';
import type { OutboxEntry } from '../store/store.js';
import { ConfigMatch } from './config-match.js';

/** After another holder's lease expires, how long a follower waits before trying to take it. */
const LEASE_EXPIRY_SLACK_MS = 50;

/** GET /api/v1/cluster (SPEC §15). */
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
    const s = this.self;
    return Promise.resolve({
      self: s.id,
      leader: s.id,
      epoch: 1,
      members: [
        {
          id: s.id,
          listen: s.listen,
          pid: s.pid,
          host: s.host,
          alive: true,
          leader: true,
          heartbeat_age_ms: 0,
          config_hash: s.configHash(),
          config_matches_leader: true,
          runs_in_flight: s.inFlight(),
        },
      ],
    });
  }

  async start(handlers: LeadershipHandlers): Promise<void> {
    await handlers.lead(1);
  }

  async resign(): Promise<void> {}

  async close(): Promise<void> {}
}

export interface PostgresMembershipOptions {
  cluster: ClusterStore;
  self: SelfInfo;
  ttlMs: number;
  renewMs: number;
  logger: Logger;
  now: () => Millis;
  /** Outbox entries of a run recorded lost (ES, notifications). */
  outboxFor: (run: RunRecord) => OutboxEntry[];
  /** Runs of dead members just recorded lost (wake the outbox services). */
  onLost?: (runs: RunRecord[]) => void;
  /** The new attempt of a lost run whose job opts in (`rerun_lost`), queued with the lost record. */
  rerunOf?: RerunOf;
  /** Monotonic milliseconds (tests). */
  monotonic?: () => number;
}

/** PostgreSQL: heartbeat, lease, fencing and the leader's duties. */
export class PostgresMembership implements Membership {
  private role: Role = 'follower';
  private epoch = 0;
  private leader: string | null = null;
  private problem: string | null = null;
  /** Monotonic time until which this member may claim (leader only). */
  private claimUntil = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private handlers: LeadershipHandlers | null = null;
  /** Role changes, one after another. */
  private transitions: Promise<void> = Promise.resolve();
  private ticking: Promise<void> = Promise.resolve();
  private resigned = false;
  /** When the leader last deleted members dead for over an hour (monotonic). */
  private forgotAt = -Infinity;
  private closed = false;
  private readonly configMatch = new ConfigMatch();
  /**
   * Monotonic time since which this member's ticks reach the database. Other members are judged
   * dead only once it has reached it for a TTL: after PostgreSQL was down for everyone, their
   * heartbeats are old because they could not write them, not because they died.
   */
  private reachableSince: number;
  private readonly monotonic: () => number;
  /** How long before the lease's earliest expiry the leader stops claiming. */
  private readonly marginMs: number;

  constructor(private readonly o: PostgresMembershipOptions) {
    this.monotonic = o.monotonic ?? (() => performance.now());
    this.marginMs = Math.max(Math.min(o.renewMs, o.ttlMs / 4), 100);
    this.reachableSince = this.monotonic();
  }

  get memberId(): string {
    return this.o.self.id;
  }

  /**
   * Refuses to start while another live process uses this member id (its runs would be taken
   * for this member's leftovers), then publishes the first heartbeat.
   */
  async join(): Promise<void> {
    const self = this.o.self;
    const same = (await this.o.cluster.listMembers(this.o.ttlMs)).find((m) => m.id === self.id);
    if (same && (same.host !== self.host || processAlive(same.pid)) && same.pid !== self.pid) {
      throw new DaemonLockedError(
        `another distcron daemon (pid ${same.pid} on ${same.host}, heartbeat ${same.heartbeatAgeMs} ms ago) uses the member id ${self.id}; ` +
          'give each daemon its own --member-id (or --listen port), or wait for the lease TTL if it is gone',
      );
    }
    await this.o.cluster.heartbeat(this.info());
  }

  fence(): ClaimFence {
    const fence = { member: this.o.self.id, epoch: this.epoch };
    if (this.role !== 'leader' || this.monotonic() >= this.claimUntil) throw new NotLeaderError(fence);
    return fence;
  }

  lostLeadership(): void {
    if (this.role === 'leader') this.transition(() => this.follow('a claim was refused: the lease is gone'));
  }

  health(): ClusterHealth {
    const configProblem = this.configMatch.problem();
    return {
      role: this.role,
      ...(this.problem === null ? {} : { problem: this.problem }),
      ...(configProblem === undefined ? {} : { configProblem }),
    };
  }

  /** Compares this member's configuration with the one the leader published (see ConfigMatch). */
  private async compareConfig(): Promise<void> {
    const own = this.o.self.configHash();
    if (this.role === 'leader' || this.leader === null) return this.configMatch.observe(own, null);
    const row = (await this.o.cluster.listMembers(this.o.ttlMs)).find((m) => m.id === this.leader);
    this.configMatch.observe(own, row ? { id: row.id, hash: row.configHash } : null);
  }

  async view(): Promise<ClusterView> {
    const members = await this.o.cluster.listMembers(DEAD_LISTED_MS);
    const leader = this.role === 'leader' ? this.o.self.id : this.leader;
    const hashOf = (m: MemberRow) => (m.id === this.o.self.id ? this.o.self.configHash() : m.configHash);
    const leaderRow = members.find((m) => m.id === leader);
    const leaderHash = leaderRow ? hashOf(leaderRow) : null;
    return {
      self: this.o.self.id,
      leader,
      epoch: this.epoch,
      members: members.map((m) => {
        const own = m.id === this.o.self.id;
        return {
          id: m.id,
          listen: m.listen,
          pid: m.pid,
          host: m.host,
          alive: m.heartbeatAgeMs <= this.o.ttlMs,
          leader: m.id === leader,
          heartbeat_age_ms: m.heartbeatAgeMs,
          config_hash: hashOf(m),
          config_matches_leader: leaderHash === null ? null : hashOf(m) === leaderHash,
          runs_in_flight: own ? this.o.self.inFlight() : m.inFlight,
        };
      }),
    };
  }

  async start(handlers: LeadershipHandlers): Promise<void> {
    this.handlers = handlers;
    await this.tick();
    await this.transitions;
  }

  async resign(): Promise<void> {
    this.resigned = true;
    await this.ticking;
    this.transition(() => this.follow(null));
    await this.transitions;
    try {
      await this.o.cluster.releaseLease(this.o.self.id);
    } catch (err) {
      this.o.logger.warn({ err }, 'cluster: could not release the leader lease; it expires on its own');
    }
  }

  async close(): Promise<void> {
    this.resigned = true;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.watchdog) clearTimeout(this.watchdog);
    await this.ticking;
    await this.transitions;
  }

  private info(): MemberInfo {
    const s = this.o.self;
    const { configHash, inFlight, ...rest } = s;
    return { ...rest, configHash: configHash(), inFlight: inFlight() };
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick();
    }, delayMs);
  }

  /**
   * A follower tries again just after another holder's lease expires, not up to a renew period
   * later: a dead leader's successor takes over at TTL after its last renewal.
   */
  private nextTickIn(lease: LeaseState | null): number {
    if (lease === null || lease.holder === null || lease.holder === this.o.self.id) return this.o.renewMs;
    return Math.min(this.o.renewMs, lease.expiresInMs + LEASE_EXPIRY_SLACK_MS);
  }

  /** One heartbeat and, unless resigned, one lease attempt; then the next tick is scheduled. */
  private async tick(): Promise<void> {
    const sent = this.monotonic();
    let lease: LeaseState | null = null;
    try {
      await this.o.cluster.heartbeat(this.info());
      if (!this.resigned) {
        lease = await this.o.cluster.tryAcquireOrRenew(this.o.self.id, this.o.ttlMs);
        this.onLease(lease, sent);
      }
      if (this.problem !== null) {
        this.o.logger.info('cluster: the database answers again');
        this.reachableSince = sent;
      }
      this.problem = null;
      if (this.role === 'leader' && !this.resigned) await this.leaderDuties();
      await this.compareConfig();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (this.problem === null)
        this.o.logger.error({ err }, 'cluster: heartbeat or lease renewal failed; retrying (logged once)');
      this.problem = `cannot reach the lease: ${message}`;
    }
    this.schedule(this.nextTickIn(lease));
  }

  private onLease(lease: LeaseState, sent: number): void {
    if (lease.holder === this.o.self.id) {
      const renewedFresh = this.role === 'leader' && lease.epoch === this.epoch;
      this.claimUntil = sent + this.o.ttlMs - this.marginMs;
      this.armWatchdog();
      if (!renewedFresh) {
        const epoch = lease.epoch;
        this.transition(async () => {
          if (this.role === 'leader') await this.follow('the lease was renewed under a new epoch');
          await this.lead(epoch);
        });
      }
      return;
    }
    this.leader = lease.holder;
    if (this.role === 'leader')
      this.transition(() => this.follow(`member ${lease.holder ?? '(none)'} holds the lease`));
    else this.epoch = lease.epoch;
  }

  /** Steps down at the local deadline when no renewal came in time (PostgreSQL unreachable, hung). */
  private armWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    const wait = Math.max(0, this.claimUntil - this.monotonic());
    this.watchdog = setTimeout(() => {
      if (this.role !== 'leader') return;
      // Timers are set from the event loop's cached time and can fire a little early: look again.
      if (this.monotonic() < this.claimUntil) return this.armWatchdog();
      this.transition(() => this.follow('the lease could not be renewed in time'));
    }, wait);
    this.watchdog.unref();
  }

  private transition(step: () => Promise<void>): void {
    this.transitions = this.transitions.then(step).catch((err: unknown) => {
      this.o.logger.error({ err }, 'cluster: changing role failed');
    });
  }

  private async lead(epoch: number): Promise<void> {
    if (this.resigned) return;
    this.role = 'leader';
    this.epoch = epoch;
    this.leader = this.o.self.id;
    this.o.logger.info({ member: this.o.self.id, epoch }, 'cluster: this member is the leader');
    await this.handlers?.lead(epoch);
    await this.markDeadMembersLost();
  }

  private async follow(why: string | null): Promise<void> {
    if (this.role !== 'leader') return;
    this.role = 'follower';
    this.claimUntil = -Infinity;
    if (why !== null)
      this.o.logger.warn({ member: this.o.self.id, epoch: this.epoch, why }, 'cluster: no longer the leader');
    await this.handlers?.follow();
  }

  /** Each tick of the leader: dead members' runs; once a minute, members dead over an hour. */
  private async leaderDuties(): Promise<void> {
    await this.markDeadMembersLost();
    const now = this.monotonic();
    if (now - this.forgotAt < 60_000) return;
    this.forgotAt = now;
    try {
      await this.o.cluster.forgetMembers(DEAD_LISTED_MS);
    } catch (err) {
      this.o.logger.warn({ err }, 'cluster: could not forget members dead for over an hour');
    }
  }

  private async markDeadMembersLost(): Promise<void> {
    if (this.monotonic() - this.reachableSince < this.o.ttlMs) return;
    try {
      const lost = await this.o.cluster.markLostOfDeadMembers(
        this.o.ttlMs,
        this.o.self.id,
        this.o.now(),
        this.o.outboxFor,
        this.o.rerunOf,
      );
      if (lost.length === 0) return;
      const members = [...new Set(lost.map((r) => r.member ?? '(none)'))];
      this.o.logger.warn(
        { count: lost.length, members },
        'cluster: runs of dead members are recorded as lost',
      );
      this.o.onLost?.(lost);
    } catch (err) {
      this.o.logger.warn({ err }, 'cluster: could not record the runs of dead members as lost; retrying');
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code !== 'ESRCH';
  }
}
