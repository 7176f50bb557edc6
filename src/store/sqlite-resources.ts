/** The resource pool tables on SQLite (SPEC §16). One connection: the open transaction is the lock. */
import type { Database, Statement } from 'better-sqlite3';
import { isoUtc, type Millis } from '../core/types.js';
import {
  waiterFromRow,
  type ResourceAcquisitionRow,
  type ResourceHoldingRow,
  type ResourceRows,
  type ResourceWaiterRow,
} from './resource-rows.js';

const SQL = {
  holdings: 'SELECT * FROM resource_holdings ORDER BY acquired_at, run_id',
  waiters: 'SELECT * FROM resource_waiters ORDER BY since, run_id',
  acquisitions: 'SELECT * FROM resource_acquisitions WHERE at > ? ORDER BY at',
  putWaiter: `INSERT INTO resource_waiters (run_id, job, node, since, wants) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (run_id) DO UPDATE SET wants = excluded.wants, node = excluded.node`,
  dropWaiter: 'DELETE FROM resource_waiters WHERE run_id = ?',
  hold: `INSERT INTO resource_holdings (run_id, pool, amount, acquired_at, job, node) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (run_id, pool) DO UPDATE SET amount = excluded.amount, acquired_at = excluded.acquired_at`,
  acquired: 'INSERT INTO resource_acquisitions (pool, at, amount, run_id) VALUES (?, ?, ?, ?)',
  prune: 'DELETE FROM resource_acquisitions WHERE at <= ?',
  release: 'DELETE FROM resource_holdings WHERE run_id = ?',
  staleHoldings: `DELETE FROM resource_holdings WHERE run_id NOT IN (SELECT id FROM runs WHERE status = 'running')`,
  staleWaiters: `DELETE FROM resource_waiters WHERE run_id NOT IN (SELECT id FROM runs WHERE status = 'running')`,
  anyStale: `SELECT EXISTS (SELECT 1 FROM resource_holdings WHERE run_id NOT IN (SELECT id FROM runs WHERE status = 'running'))
    OR EXISTS (SELECT 1 FROM resource_waiters WHERE run_id NOT IN (SELECT id FROM runs WHERE status = 'running')) AS stale`,
};

export class SqliteResources {
  private readonly st: Record<keyof typeof SQL, Statement>;

  constructor(db: Database) {
    this.st = Object.fromEntries(Object.entries(SQL).map(([k, sql]) => [k, db.prepare(sql)])) as Record<
      keyof typeof SQL,
      Statement
    >;
  }

  /** Every holding and waiter (few), and the acquisitions after `since`. */
  read(since: Millis): ResourceRows {
    return {
      holdings: this.st.holdings.all() as ResourceHoldingRow[],
      waiters: (this.st.waiters.all() as (ResourceWaiterRow & { wants: string })[]).map(waiterFromRow),
      acquisitions: this.st.acquisitions.all(isoUtc(since)) as ResourceAcquisitionRow[],
    };
  }

  putWaiter(w: ResourceWaiterRow): void {
    this.st.putWaiter.run(w.run_id, w.job, w.node, w.since, JSON.stringify(w.wants));
  }

  grant(runId: string, holdings: readonly ResourceHoldingRow[], pruneUpTo: Millis): void {
    this.st.dropWaiter.run(runId);
    this.st.prune.run(isoUtc(pruneUpTo));
    for (const h of holdings) {
      this.st.hold.run(h.run_id, h.pool, h.amount, h.acquired_at, h.job, h.node);
      this.st.acquired.run(h.pool, h.acquired_at, h.amount, h.run_id);
    }
  }

  release(runId: string): void {
    this.st.release.run(runId);
    this.st.dropWaiter.run(runId);
  }

  /** A read: the periodic sweep takes the write lock only when there is something to release. */
  hasStale(): boolean {
    return (this.st.anyStale.get() as { stale: number }).stale === 1;
  }

  releaseStale(): number {
    return this.st.staleHoldings.run().changes + this.st.staleWaiters.run().changes;
  }
}
