/**
 * `max_concurrent_runs` and `least_loaded` cluster-wide (SPEC §6, §15): a run holds a slot of
 * its node in the store (node_slots) from just before its command starts until it ends, so a
 * node's count is every member's runs on it. A run that finds the node full waits until a slot
 * is given back anywhere (this member's release, a notification from another member's) or the
 * next poll, whichever comes first. SQLite (one member) takes the same path.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { NodeDef } from '../core/types.js';
import type { AsyncStore } from '../store/async-store.js';

/** What an attempt needs of the slots: one per run on its node, given back at its end. */
export interface NodeSlotGate {
  /** Resolves true with a slot held, or false when `signal` aborted first (no slot held). */
  acquire(node: NodeDef, runId: string, signal: AbortSignal): Promise<boolean>;
  release(node: NodeDef, runId: string): Promise<void>;
}

export interface NodeSlotsOptions {
  store: Pick<AsyncStore, 'takeNodeSlot' | 'releaseNodeSlot' | 'nodeLoads'>;
  member: string;
  clock: Clock;
  logger: Logger;
  /** Longest wait for a slot between two tries when no release is heard of. */
  pollMs: number;
}

/** A release that fails (database unreachable) is retried this often, this many times. */
const RELEASE_RETRY_MS = 1_000;
const RELEASE_TRIES = 30;

export class ClusterNodeSlots implements NodeSlotGate {
  private waiters = new Set<() => void>();
  private loads: Record<string, number> = {};
  /** Slots this member holds, per node. */
  private readonly held = new Map<string, number>();
  private refreshing: Promise<void> | null = null;

  constructor(private readonly o: NodeSlotsOptions) {}

  async acquire(node: NodeDef, runId: string, signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal.aborted) return false;
      if (await this.tryTake(node, runId)) {
        this.held.set(node.name, (this.held.get(node.name) ?? 0) + 1);
        return true;
      }
      await this.nextChance(signal);
    }
  }

  /** A store error is a full node for now: the run waits and tries again (bounded by its timeout). */
  private async tryTake(node: NodeDef, runId: string): Promise<boolean> {
    try {
      return await this.o.store.takeNodeSlot(node.name, node.maxConcurrentRuns, runId, this.o.member);
    } catch (err) {
      this.o.logger.warn({ err, node: node.name, run: runId }, 'node slot could not be taken; retrying');
      return false;
    }
  }

  async release(node: NodeDef, runId: string): Promise<void> {
    this.held.set(node.name, Math.max(0, (this.held.get(node.name) ?? 1) - 1));
    for (let attempt = 1; ; attempt++) {
      try {
        await this.o.store.releaseNodeSlot(runId);
        break;
      } catch (err) {
        if (attempt >= RELEASE_TRIES) {
          this.o.logger.error({ err, node: node.name, run: runId }, 'node slot could not be given back');
          return;
        }
        await this.o.clock.sleep(RELEASE_RETRY_MS);
      }
    }
    this.wake();
  }

  /** A slot was given back somewhere: every waiting run tries again. */
  wake(): void {
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const resume of waiting) resume();
  }

  /**
   * Reads every node's count of runs holding a slot (before a placement) and keeps the other
   * members' share: this member's own runs are counted live by the caller (placed runs may not
   * hold their slot yet, and a hundred placements of one fire would all see the same snapshot).
   */
  refreshLoads(): Promise<void> {
    // Placements at the same moment share one read: it is as fresh for each of them.
    this.refreshing ??= this.readLoads().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async readLoads(): Promise<void> {
    const loads = await this.o.store.nodeLoads();
    const others: Record<string, number> = {};
    for (const [node, n] of Object.entries(loads)) others[node] = Math.max(0, n - (this.held.get(node) ?? 0));
    this.loads = others;
  }

  /** Runs of other members holding a slot on the node, as of the last refresh. */
  othersInFlight(node: string): number {
    return this.loads[node] ?? 0;
  }

  private async nextChance(signal: AbortSignal): Promise<void> {
    const stop = new AbortController();
    const resume = () => stop.abort();
    this.waiters.add(resume);
    await this.o.clock.sleep(this.o.pollMs, AbortSignal.any([signal, stop.signal]));
    this.waiters.delete(resume);
  }
}
