/**
 * The resource pool tables on PostgreSQL (SPEC §16). Several members acquire from one pool: a
 * decision is made under the row lock of every pool it touches (taken in name order, so two
 * deciders never deadlock), which serialises acquisitions cluster-wide.
 */
import { isoUtc, type Millis } from '../core/types.js';
import type { Session } from './postgres-session.js';
import {
  waiterFromRow,
  type ResourceAcquisitionRow,
  type ResourceHoldingRow,
  type ResourceRows,
  type ResourceWaiterRow,
} from './resource-rows.js';

const SQL = {
  ensurePools: `INSERT INTO resource_pools (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING`,
  lockPools: 'SELECT name FROM resource_pools WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE',
  holdings: 'SELECT * FROM resource_holdings ORDER BY acquired_at, run_id',
  waiters: 'SELECT * FROM resource_waiters ORDER BY since, run_id',
  acquisitions: 'SELECT * FROM resource_acquisitions WHERE at > $1 ORDER BY at',
  putWaiter: `INSERT INTO resource_waiters (run_id, job, node, since, wants) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (run_id) DO UPDATE SET wants = excluded.wants, node = excluded.node`,
  dropWaiter: 'DELETE FROM resource_waiters WHERE run_id = $1',
  hold: `INSERT INTO resource_holdings (run_id, pool, amount, acquired_at, job, node)
    SELECT * FROM json_to_recordset($1::json)
      AS h(run_id text, pool text, amount integer, acquired_at text, job text, node text)
    ON CONFLICT (run_id, pool) DO UPDATE SET amount = excluded.amount, acquired_at = excluded.acquired_at`,
  acquired: `INSERT INTO resource_acquisitions (pool, at, amount, run_id)
    SELECT pool, acquired_at, amount, run_id FROM json_to_recordset($1::json)
      AS h(run_id text, pool text, amount integer, acquired_at text)`,
  prune: 'DELETE FROM resource_acquisitions WHERE at <= $1',
  release: 'DELETE FROM resource_holdings WHERE run_id = $1',
  staleHoldings: `DELETE FROM resource_holdings h WHERE NOT EXISTS
    (SELECT 1 FROM runs r WHERE r.id = h.run_id AND r.status = 'running')`,
  staleWaiters: `DELETE FROM resource_waiters w WHERE NOT EXISTS
    (SELECT 1 FROM runs r WHERE r.id = w.run_id AND r.status = 'running')`,
};

export async function lockPools(s: Session, pools: readonly string[]): Promise<void> {
  const names = [...new Set(pools)].sort();
  if (names.length === 0) return;
  await s.query(SQL.ensurePools, [names]);
  await s.query(SQL.lockPools, [names]);
}

export async function readResources(s: Session, since: Millis): Promise<ResourceRows> {
  const holdings = await s.query<ResourceHoldingRow>(SQL.holdings);
  const waiters = await s.query<ResourceWaiterRow & { wants: string }>(SQL.waiters);
  const acquisitions = await s.query<ResourceAcquisitionRow>(SQL.acquisitions, [isoUtc(since)]);
  return {
    holdings: holdings.rows,
    waiters: waiters.rows.map(waiterFromRow),
    acquisitions: acquisitions.rows,
  };
}

export async function putWaiter(s: Session, w: ResourceWaiterRow): Promise<void> {
  await s.query(SQL.putWaiter, [w.run_id, w.job, w.node, w.since, JSON.stringify(w.wants)]);
}

export function grant(
  s: Session,
  runId: string,
  holdings: readonly ResourceHoldingRow[],
  pruneUpTo: Millis,
): Promise<void> {
  return s.atomically(async (t) => {
    await t.query(SQL.dropWaiter, [runId]);
    await t.query(SQL.prune, [isoUtc(pruneUpTo)]);
    if (holdings.length === 0) return;
    await t.query(SQL.hold, [JSON.stringify(holdings)]);
    await t.query(SQL.acquired, [JSON.stringify(holdings)]);
  });
}

export function release(s: Session, runId: string): Promise<void> {
  return s.atomically(async (t) => {
    await t.query(SQL.release, [runId]);
    await t.query(SQL.dropWaiter, [runId]);
  });
}

export function releaseStale(s: Session): Promise<number> {
  return s.atomically(async (t) => {
    const held = await t.query(SQL.staleHoldings);
    const waiting = await t.query(SQL.staleWaiters);
    return held.rowCount + waiting.rowCount;
  });
}
