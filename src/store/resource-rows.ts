/** The rows of the resource pool tables (SPEC §16), the same on both stores. Pure. */

/** Units of one pool a run holds while its command runs. */
export interface ResourceHoldingRow {
  run_id: string;
  pool: string;
  amount: number;
  /** ISO-8601 UTC. */
  acquired_at: string;
  job: string;
  node: string | null;
}

/** A run waiting for all of `wants` at once. */
export interface ResourceWaiterRow {
  run_id: string;
  job: string;
  node: string | null;
  /** ISO-8601 UTC; waiters are served in (since, run_id) order. */
  since: string;
  wants: { pool: string; amount: number }[];
}

/** One acquisition, kept for the per-minute window of its pool. */
export interface ResourceAcquisitionRow {
  pool: string;
  at: string;
  amount: number;
  run_id: string;
}

export interface ResourceRows {
  holdings: ResourceHoldingRow[];
  waiters: ResourceWaiterRow[];
  acquisitions: ResourceAcquisitionRow[];
}

/** Waiter rows store `wants` as JSON text. */
export function waiterFromRow(row: Omit<ResourceWaiterRow, 'wants'> & { wants: string }): ResourceWaiterRow {
  return { ...row, wants: JSON.parse(row.wants) as ResourceWaiterRow['wants'] };
}
