/** What `GET /api/v1/resources` shows of each pool (SPEC §16), from the loaded pools and the store's rows. Pure. */
import { RATE_WINDOW_MS } from '../core/resource-grant.js';
import type { Millis, ResourcePoolDef } from '../core/types.js';
import type { ResourceRows } from '../store/resource-rows.js';

export interface PoolView {
  /** The pool, or one host's pool of a per-host declaration (`nightly-io@db1`). */
  name: string;
  /** The resources.d file it is declared by (null: no longer declared, still held). */
  declared_by: string | null;
  capacity: number | null;
  per_minute: number | null;
  /** Units held now. */
  in_use: number;
  holders: { run_id: string; job: string; node: string | null; since: string; amount: number }[];
  /** In the order they will be served. */
  waiters: { run_id: string; job: string; node: string | null; since: string; wanted: number }[];
  /** Units acquired in the last 60 s (what per_minute limits). */
  acquisitions_last_minute: number;
}

export function poolViews(
  pools: ReadonlyMap<string, ResourcePoolDef>,
  rows: ResourceRows,
  now: Millis,
): PoolView[] {
  const names = new Set(pools.keys());
  for (const h of rows.holdings) names.add(h.pool);
  for (const w of rows.waiters) for (const want of w.wants) names.add(want.pool);
  return [...names].sort().map((name) => poolView(name, pools.get(baseOf(name)), rows, now));
}

function poolView(name: string, def: ResourcePoolDef | undefined, rows: ResourceRows, now: Millis): PoolView {
  const holders = rows.holdings
    .filter((h) => h.pool === name)
    .map((h) => ({ run_id: h.run_id, job: h.job, node: h.node, since: h.acquired_at, amount: h.amount }));
  const waiters = rows.waiters.flatMap((w) => {
    const want = w.wants.find((x) => x.pool === name);
    return want ? [{ run_id: w.run_id, job: w.job, node: w.node, since: w.since, wanted: want.amount }] : [];
  });
  const windowStart = now - RATE_WINDOW_MS;
  return {
    name,
    declared_by: def?.file ?? null,
    capacity: def?.capacity ?? null,
    per_minute: def?.perMinute ?? null,
    in_use: holders.reduce((sum, h) => sum + h.amount, 0),
    holders,
    waiters,
    acquisitions_last_minute: rows.acquisitions
      .filter((a) => a.pool === name && Date.parse(a.at) > windowStart)
      .reduce((sum, a) => sum + a.amount, 0),
  };
}

function baseOf(pool: string): string {
  const at = pool.indexOf('@');
  return at < 0 ? pool : pool.slice(0, at);
}
