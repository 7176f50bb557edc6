/**
 * Whether a run waiting for resource pools may take them now (SPEC §16). All or nothing: a
 * run takes every pool it wants in one step or none, so it never holds one while waiting for
 * another and no set of waiters can deadlock. FIFO: a waiter is served only when no earlier
 * waiter wants any of the same pools, so a large request is not starved by a stream of small
 * ones; waiters whose pools are disjoint never block each other. Pure.
 */
import type { Millis } from './types.js';

export interface PoolLimits {
  capacity?: number;
  perMinute?: number;
}

export interface Want {
  pool: string;
  amount: number;
}

export interface PoolUse {
  /** Units held now, per pool. */
  held: ReadonlyMap<string, number>;
  /** Acquisitions still inside a window (any order). */
  acquisitions: readonly { pool: string; at: Millis; amount: number }[];
  /** Runs waiting, in FIFO order (earliest first). */
  waiters: readonly { runId: string; wants: readonly Want[] }[];
}

export type GrantDecision =
  | { kind: 'grant' }
  | { kind: 'unknown'; pool: string }
  | { kind: 'wait'; pool: string; why: 'queue' | 'capacity' | 'rate'; retryAt?: Millis };

export const RATE_WINDOW_MS = 60_000;

/** May `runId` take `wants` at `now`? `limits` undefined for a pool that is not declared. */
export function decideGrant(
  runId: string,
  wants: readonly Want[],
  limits: (pool: string) => PoolLimits | undefined,
  use: PoolUse,
  now: Millis,
): GrantDecision {
  const unknown = wants.find((w) => limits(w.pool) === undefined);
  if (unknown) return { kind: 'unknown', pool: unknown.pool };
  const ahead = earlierWaiterOnSamePool(runId, wants, use.waiters);
  if (ahead) return { kind: 'wait', pool: ahead, why: 'queue' };
  for (const want of wants) {
    const blocked = fits(want, limits(want.pool)!, use, now);
    if (blocked) return blocked;
  }
  return { kind: 'grant' };
}

/** The first pool of `wants` that a waiter queued before `runId` also wants. */
function earlierWaiterOnSamePool(
  runId: string,
  wants: readonly Want[],
  waiters: PoolUse['waiters'],
): string | undefined {
  const mine = new Set(wants.map((w) => w.pool));
  for (const waiter of waiters) {
    if (waiter.runId === runId) return undefined;
    const shared = waiter.wants.find((w) => mine.has(w.pool));
    if (shared) return shared.pool;
  }
  return undefined;
}

function fits(want: Want, limits: PoolLimits, use: PoolUse, now: Millis): GrantDecision | undefined {
  const held = use.held.get(want.pool) ?? 0;
  if (limits.capacity !== undefined && held + want.amount > limits.capacity)
    return { kind: 'wait', pool: want.pool, why: 'capacity' };
  if (limits.perMinute === undefined) return undefined;
  const retryAt = rateFreeAt(want, limits.perMinute, use.acquisitions, now);
  return retryAt === undefined ? undefined : { kind: 'wait', pool: want.pool, why: 'rate', retryAt };
}

/**
 * Undefined when `want` fits the pool's rolling window now (acquisitions in (now - 60 s, now]);
 * otherwise the first instant at which enough of them have left the window.
 */
export function rateFreeAt(
  want: Want,
  perMinute: number,
  acquisitions: PoolUse['acquisitions'],
  now: Millis,
): Millis | undefined {
  const inWindow = acquisitions
    .filter((a) => a.pool === want.pool && a.at > now - RATE_WINDOW_MS && a.at <= now)
    .sort((a, b) => a.at - b.at);
  let used = inWindow.reduce((sum, a) => sum + a.amount, 0);
  if (used + want.amount <= perMinute) return undefined;
  for (const oldest of inWindow) {
    used -= oldest.amount;
    if (used + want.amount <= perMinute) return oldest.at + RATE_WINDOW_MS;
  }
  return now + RATE_WINDOW_MS;
}
