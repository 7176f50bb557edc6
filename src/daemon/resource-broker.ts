/**
 * Acquires and releases a run's resource pools through the store (SPEC §16), so they hold
 * cluster-wide. Each try is one transaction: lock the pools, read holdings, waiters and the
 * last minute's acquisitions, decide (core/resource-grant.ts), grant or queue. A waiter wakes
 * when a run of this process releases, when its pool's rate window frees, and on a poll for
 * releases by other members. I/O.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import { decideGrant, RATE_WINDOW_MS, type GrantDecision, type Want } from '../core/resource-grant.js';
import { isoUtc, type JobDef, type Millis, type ResourcePoolDef, type RunRecord } from '../core/types.js';
import { poolKey } from '../config/parse-resources.js';
import type { AsyncStore } from '../store/async-store.js';
import type { ResourceRows } from '../store/resource-rows.js';
import { poolViews, type PoolView } from './resource-view.js';

export interface ResourceBrokerOptions {
  store: AsyncStore;
  clock: Clock;
  logger: Logger;
  /** The pools as loaded now (resources.d). */
  pools: () => ReadonlyMap<string, ResourcePoolDef>;
  /** How often a waiter looks again for releases made by other members. */
  pollMs?: number;
  /** Metrics hooks, per pool. */
  onAcquired?: (pool: string) => void;
  onWaitTimedOut?: (pool: string) => void;
}

/** What a run is given: its release, or why it gets nothing (the run is recorded with `status`). */
export type Acquisition =
  { ok: true; release: () => Promise<void> } | { ok: false; status: 'skipped' | 'cancelled'; error: string };

export interface AcquireRequest {
  job: JobDef;
  run: RunRecord;
  node: string;
  signal: AbortSignal;
}

const DEFAULT_POLL_MS = 1_000;
const SWEEP_MS = 10_000;
/** A job with resources and neither "resource_wait" nor "timeout" waits at most this long. */
export const DEFAULT_RESOURCE_WAIT_MS = 3_600_000;
const NOTHING_TO_RELEASE: Acquisition = { ok: true, release: () => Promise.resolve() };

export class ResourceBroker {
  private readonly pollMs: number;
  private wakeAll = new AbortController();
  /** Runs of this process waiting now (metrics and the API read them from the store too). */
  private readonly waiting = new Set<string>();

  constructor(private readonly opts: ResourceBrokerOptions) {
    this.pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  }

  /** The pools a run of `job` on `node` takes, by their resolved names. */
  wantsOf(job: JobDef, node: string): Want[] {
    return (job.resources ?? []).map((c) => ({ pool: poolKey(c, node), amount: c.amount }));
  }

  /** Waits (FIFO, all or nothing) until the run holds every pool it wants, or gives up. */
  async acquire(req: AcquireRequest, defaultTimeoutMs?: number): Promise<Acquisition> {
    const wants = this.wantsOf(req.job, req.node);
    if (wants.length === 0) return NOTHING_TO_RELEASE;
    const { clock } = this.opts;
    const since = clock.now();
    const deadline =
      since + (req.job.resourceWaitMs ?? req.job.timeoutMs ?? defaultTimeoutMs ?? DEFAULT_RESOURCE_WAIT_MS);
    this.waiting.add(req.run.id);
    try {
      return await this.waitLoop(req, wants, since, deadline);
    } finally {
      this.waiting.delete(req.run.id);
    }
  }

  private async waitLoop(
    req: AcquireRequest,
    wants: Want[],
    since: Millis,
    deadline: Millis,
  ): Promise<Acquisition> {
    for (let queued = false; ; queued = true) {
      // Cancelled while asleep: give up without taking what may have come free meanwhile.
      if (req.signal.aborted) return this.giveUp(req, 'cancelled', abortText(req.signal));
      const wake = this.wakeAll.signal;
      const decision = await this.tryOnce(req, wants, since, queued);
      if (decision.kind === 'grant') return { ok: true, release: () => this.release(req.run.id) };
      if (decision.kind === 'unknown') return this.giveUp(req, 'skipped', unknownPool(decision.pool));
      const now = this.opts.clock.now();
      if (now >= deadline) {
        this.opts.onWaitTimedOut?.(decision.pool);
        return this.giveUp(req, 'skipped', this.timedOutText(decision, since, now));
      }
      const until = Math.min(deadline, decision.retryAt ?? Infinity, now + this.pollMs);
      await this.sleepUntil(until, AbortSignal.any([req.signal, wake]));
    }
  }

  /** One transaction: decide, then grant or (the first time) join the queue. */
  private tryOnce(
    req: AcquireRequest,
    wants: Want[],
    since: Millis,
    queued: boolean,
  ): Promise<GrantDecision> {
    const pools = this.opts.pools();
    const limits = (pool: string) => pools.get(basePool(pool));
    return this.opts.store.transaction(async (tx) => {
      await tx.lockResourcePools(wants.map((w) => w.pool));
      const now = this.opts.clock.now();
      const rows = await tx.readResources(now - RATE_WINDOW_MS);
      const decision = decideGrant(req.run.id, wants, limits, useOf(rows), now);
      if (decision.kind === 'grant') {
        await tx.grantResources(req.run.id, this.holdings(req, wants, now), now - RATE_WINDOW_MS);
        for (const w of wants) this.opts.onAcquired?.(w.pool);
        // The next waiter in line may fit now too (a larger pool, a rate window with room).
        queueMicrotask(() => this.ring());
      } else if (decision.kind === 'wait' && !queued) {
        await tx.putResourceWaiter({
          run_id: req.run.id,
          job: req.job.name,
          node: req.node,
          since: isoUtc(since),
          wants,
        });
      }
      return decision;
    });
  }

  private holdings(req: AcquireRequest, wants: Want[], now: Millis) {
    const at = isoUtc(now);
    return wants.map((w) => ({
      run_id: req.run.id,
      pool: w.pool,
      amount: w.amount,
      acquired_at: at,
      job: req.job.name,
      node: req.node,
    }));
  }

  private async giveUp(
    req: AcquireRequest,
    status: 'skipped' | 'cancelled',
    error: string,
  ): Promise<Acquisition> {
    await this.release(req.run.id);
    return { ok: false, status, error };
  }

  /** Gives back what the run holds or waits for, and wakes this process's waiters. */
  async release(runId: string): Promise<void> {
    try {
      await this.opts.store.releaseResources(runId);
    } catch (err) {
      // Kept until the stale sweep sees the run final: never held past the run's end for long.
      this.opts.logger.error({ err, run: runId }, 'resources: releasing failed; the stale sweep will');
    } finally {
      this.ring();
    }
  }

  /** Holdings and waiters of runs no longer running (a crash, a lost member): start-up and the leader. */
  async releaseStale(): Promise<number> {
    const released = await this.opts.store.releaseStaleResources();
    if (released > 0) {
      this.opts.logger.info({ released }, 'resources: released the holdings of runs no longer running');
      this.ring();
    }
    return released;
  }

  /**
   * Sweeps stale holdings every `intervalMs` (a member that died holding a pool: its runs
   * become lost, then this frees the pool). Returns the stop function for the cleanup stack.
   */
  startSweeping(intervalMs = SWEEP_MS): () => void {
    const stop = new AbortController();
    const loop = async () => {
      while (!stop.signal.aborted) {
        await this.opts.clock.sleep(intervalMs, stop.signal);
        if (stop.signal.aborted) return;
        await this.releaseStale().catch((err: unknown) =>
          this.opts.logger.warn({ err }, 'resources: stale sweep failed; retrying on the next'),
        );
      }
    };
    void loop();
    return () => stop.abort();
  }

  /** Holders and waiters per pool, cluster-wide (metrics). */
  async use(): Promise<{ holders: Map<string, number>; waiters: Map<string, number> }> {
    const rows = await this.opts.store.readResources(this.opts.clock.now());
    const holders = new Map<string, number>();
    const waiters = new Map<string, number>();
    for (const h of rows.holdings) holders.set(h.pool, (holders.get(h.pool) ?? 0) + 1);
    for (const w of rows.waiters)
      for (const want of w.wants) waiters.set(want.pool, (waiters.get(want.pool) ?? 0) + 1);
    return { holders, waiters };
  }

  /** Every pool with its holders and waiters, cluster-wide (GET /api/v1/resources). */
  async views(): Promise<PoolView[]> {
    const now = this.opts.clock.now();
    return poolViews(this.opts.pools(), await this.opts.store.readResources(now - RATE_WINDOW_MS), now);
  }

  /** Number of this process's runs waiting for resources now. */
  get waitingHere(): number {
    return this.waiting.size;
  }

  private ring(): void {
    const previous = this.wakeAll;
    this.wakeAll = new AbortController();
    previous.abort();
  }

  private sleepUntil(until: Millis, signal: AbortSignal): Promise<void> {
    return this.opts.clock.sleep(Math.max(0, until - this.opts.clock.now()), signal);
  }

  private timedOutText(
    decision: Extract<GrantDecision, { kind: 'wait' }>,
    since: Millis,
    now: Millis,
  ): string {
    const pool = this.opts.pools().get(basePool(decision.pool));
    const limit =
      decision.why === 'rate'
        ? `at most ${pool?.perMinute} per minute`
        : decision.why === 'capacity'
          ? `capacity ${pool?.capacity}, all held`
          : 'earlier waiters queued for it';
    const waited = Math.round((now - since) / 100) / 10;
    return `waited ${waited}s for resource pool "${decision.pool}" (${limit}); "resource_wait" ran out`;
  }
}

/** `nightly-io@db1` is the per-host pool of `nightly-io`: its limits are that file's. */
function basePool(pool: string): string {
  const at = pool.indexOf('@');
  return at < 0 ? pool : pool.slice(0, at);
}

function useOf(rows: ResourceRows) {
  const held = new Map<string, number>();
  for (const h of rows.holdings) held.set(h.pool, (held.get(h.pool) ?? 0) + h.amount);
  return {
    held,
    acquisitions: rows.acquisitions.map((a) => ({ pool: a.pool, at: Date.parse(a.at), amount: a.amount })),
    waiters: rows.waiters.map((w) => ({ runId: w.run_id, wants: w.wants })),
  };
}

function unknownPool(pool: string): string {
  const base = basePool(pool);
  return `resource pool "${base}" is not defined; add resources.d/${base}.json or fix the job's "resources"`;
}

function abortText(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : 'cancelled';
}
