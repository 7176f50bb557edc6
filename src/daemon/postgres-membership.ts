/**
 * A member of a PostgreSQL cluster (SPEC §15 items 3, 6, 7): it heartbeats its row and competes
 * for the lease row (holder, epoch, expiry in the database's clock). Only the leader runs the
 * scheduler, and every claim it makes carries its fence (member, epoch), checked by the claim's
 * own transaction, so an ex-leader that was paused or cut off claims nothing when it wakes. It
 * also stops claiming by itself before its lease can expire: at (start of its last successful
 * renew, by its monotonic clock) + TTL − margin. On becoming leader a member re-reads every job's
 * persisted last instant (the old leader advanced them) and schedules from there: the instants
 * between two leaders go through each job's `catch_up` policy, as after a restart.
 */
import { performance } from 'node:perf_hooks';
import { NotLeaderError, type ClaimFence, type LeaseState } from '../store/async-store.js';
import {
  DEAD_LISTED_MS,
  type ClusterHealth,
  type LeadershipHandlers,
  type Membership,
  type Role,
  type SelfInfo,
} from './cluster.js';
import { DeadMembers, memberInfo, refuseTakenMemberId, type DeadMembersOptions } from './cluster-members.js';
import { clusterViewOf, type ClusterView } from './cluster-view.js';
import { ConfigMatch } from './config-match.js';

/** After another holder's lease expires, how long a follower waits before trying to take it. */
const LEASE_EXPIRY_SLACK_MS = 50;

/** The dead members' duties take the same store, TTL, logger, clock and lost-run callbacks. */
export interface PostgresMembershipOptions extends Omit<DeadMembersOptions, 'selfId' | 'monotonic'> {
  self: SelfInfo;
  renewMs: number;
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
  private closed = false;
  private readonly configMatch = new ConfigMatch();
  private readonly deadMembers: DeadMembers;
  private readonly monotonic: () => number;
  /** How long before the lease's earliest expiry the leader stops claiming. */
  private readonly marginMs: number;

  constructor(private readonly o: PostgresMembershipOptions) {
    this.monotonic = o.monotonic ?? (() => performance.now());
    this.marginMs = Math.max(Math.min(o.renewMs, o.ttlMs / 4), 100);
    this.deadMembers = new DeadMembers({ ...o, selfId: o.self.id, monotonic: this.monotonic });
  }

  get memberId(): string {
    return this.o.self.id;
  }

  /** Refuses to start while this member id is taken, then publishes the first heartbeat. */
  async join(): Promise<void> {
    await refuseTakenMemberId(this.o.cluster, this.o.self, this.o.ttlMs);
    await this.o.cluster.heartbeat(memberInfo(this.o.self));
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
    return clusterViewOf({
      self: this.o.self,
      members: await this.o.cluster.listMembers(DEAD_LISTED_MS),
      leader: this.role === 'leader' ? this.o.self.id : this.leader,
      epoch: this.epoch,
      ttlMs: this.o.ttlMs,
    });
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
      await this.o.cluster.heartbeat(memberInfo(this.o.self));
      if (!this.resigned) {
        lease = await this.o.cluster.tryAcquireOrRenew(this.o.self.id, this.o.ttlMs);
        this.onLease(lease, sent);
      }
      this.databaseAnswered(sent);
      if (this.role === 'leader' && !this.resigned) await this.deadMembers.sweep();
      await this.compareConfig();
    } catch (err) {
      this.databaseFailed(err);
    }
    this.schedule(this.nextTickIn(lease));
  }

  private databaseAnswered(sent: number): void {
    if (this.problem !== null) {
      this.o.logger.info('cluster: the database answers again');
      this.deadMembers.reachableAgain(sent);
    }
    this.problem = null;
  }

  private databaseFailed(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (this.problem === null)
      this.o.logger.error({ err }, 'cluster: heartbeat or lease renewal failed; retrying (logged once)');
    this.problem = `cannot reach the lease: ${message}`;
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
    await this.deadMembers.markLost();
  }

  private async follow(why: string | null): Promise<void> {
    if (this.role !== 'leader') return;
    this.role = 'follower';
    this.claimUntil = -Infinity;
    if (why !== null)
      this.o.logger.warn({ member: this.o.self.id, epoch: this.epoch, why }, 'cluster: no longer the leader');
    await this.handlers?.follow();
  }
}
