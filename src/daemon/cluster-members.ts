/**
 * Member rows (SPEC §15 items 3, 5): what this member heartbeats, the check that its member id
 * is free when it joins, and the leader's duties towards dead members — recording their
 * `running` runs as lost and, after an hour, forgetting them.
 */
import type { Logger } from '../core/log.js';
import type { Millis, RunRecord } from '../core/types.js';
import type { ClusterStore, MemberInfo, RerunOf } from '../store/async-store.js';
import { DaemonLockedError } from '../store/daemon-lock.js';
import type { OutboxEntry } from '../store/store.js';
import { DEAD_LISTED_MS, type SelfInfo } from './cluster.js';

/** How often the leader deletes the rows of members dead longer than DEAD_LISTED_MS. */
const FORGET_EVERY_MS = 60_000;

/** The heartbeat row: this member's identity with its configuration hash and runs in flight now. */
export function memberInfo(self: SelfInfo): MemberInfo {
  const { configHash, inFlight, ...rest } = self;
  return { ...rest, configHash: configHash(), inFlight: inFlight() };
}

/**
 * Refuses to start while another live process uses this member id (its runs would be taken
 * for this member's leftovers).
 */
export async function refuseTakenMemberId(
  cluster: ClusterStore,
  self: SelfInfo,
  ttlMs: number,
): Promise<void> {
  const same = (await cluster.listMembers(ttlMs)).find((m) => m.id === self.id);
  if (same && (same.host !== self.host || processAlive(same.pid)) && same.pid !== self.pid) {
    throw new DaemonLockedError(
      `another distcron daemon (pid ${same.pid} on ${same.host}, heartbeat ${same.heartbeatAgeMs} ms ago) uses the member id ${self.id}; ` +
        'give each daemon its own --member-id (or --listen port), or wait for the lease TTL if it is gone',
    );
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

export interface DeadMembersOptions {
  cluster: ClusterStore;
  selfId: string;
  ttlMs: number;
  logger: Logger;
  now: () => Millis;
  /** Outbox entries of a run recorded lost (ES, notifications). */
  outboxFor: (run: RunRecord) => OutboxEntry[];
  /** Runs of dead members just recorded lost (wake the outbox services). */
  onLost?: (runs: RunRecord[]) => void;
  /** The new attempt of a lost run whose job opts in (`rerun_lost`), queued with the lost record. */
  rerunOf?: RerunOf;
  monotonic: () => number;
}

/** The leader's duties towards members whose heartbeat stopped. */
export class DeadMembers {
  /**
   * Monotonic time since which this member's ticks reach the database. Other members are judged
   * dead only once it has reached it for a TTL: after PostgreSQL was down for everyone, their
   * heartbeats are old because they could not write them, not because they died.
   */
  private reachableSince: number;
  /** When the leader last deleted members dead for over an hour (monotonic). */
  private forgotAt = -Infinity;

  constructor(private readonly o: DeadMembersOptions) {
    this.reachableSince = o.monotonic();
  }

  /** The database answered again (monotonic `since`) after this member could not reach it. */
  reachableAgain(since: number): void {
    this.reachableSince = since;
  }

  /** Each tick of the leader: dead members' runs; once a minute, members dead over an hour. */
  async sweep(): Promise<void> {
    await this.markLost();
    const now = this.o.monotonic();
    if (now - this.forgotAt < FORGET_EVERY_MS) return;
    this.forgotAt = now;
    try {
      await this.o.cluster.forgetMembers(DEAD_LISTED_MS);
    } catch (err) {
      this.o.logger.warn({ err }, 'cluster: could not forget members dead for over an hour');
    }
  }

  /** Records the `running` runs of members dead for a TTL as lost. */
  async markLost(): Promise<void> {
    if (this.o.monotonic() - this.reachableSince < this.o.ttlMs) return;
    try {
      const lost = await this.o.cluster.markLostOfDeadMembers(
        this.o.ttlMs,
        this.o.selfId,
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
