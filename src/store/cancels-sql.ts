/**
 * Cancel requests of runs executing on another member (SPEC §15), on SQLite and PostgreSQL. A
 * request is stored only for a `running` run and read only while its run is still `running`, so
 * one left behind by a run recorded final another way (lost) is inert until deleted with its run.
 */
import type { CancelRequest, TakenExecution } from './async-store.js';

const COLUMNS = 'c.run_id, c.reason, c.requested_at, c.requested_by';

export const CANCELS_SQL = {
  /** reason, requested_at, requested_by, run id; the first request of a run wins. */
  request: `INSERT INTO run_cancels (run_id, reason, requested_at, requested_by)
    SELECT id, ?, ?, ? FROM runs WHERE id = ? AND status = 'running'
    ON CONFLICT (run_id) DO UPDATE SET run_id = excluded.run_id RETURNING run_id`,
  /** member */
  pending: `SELECT ${COLUMNS} FROM run_cancels c JOIN runs r ON r.id = c.run_id
    WHERE r.member = ? AND r.status = 'running' ORDER BY c.run_id`,
  /** JSON array of run ids */
  ofRuns: `SELECT ${COLUMNS} FROM run_cancels c WHERE c.run_id IN (SELECT value FROM json_each(?))`,
  drop: 'DELETE FROM run_cancels WHERE run_id = ?',
} as const;

export const PG_CANCELS_SQL = {
  /**
   * $1 reason, $2 requested_at, $3 requested_by, $4 run id. FOR SHARE: a finish committing
   * meanwhile is waited for and seen (then nothing is stored), so no request outlives its run.
   */
  request: `INSERT INTO run_cancels (run_id, reason, requested_at, requested_by)
    SELECT id, $1, $2, $3 FROM runs WHERE id = $4 AND status = 'running' FOR SHARE
    ON CONFLICT (run_id) DO UPDATE SET run_id = excluded.run_id RETURNING run_id`,
  /** $1 member */
  pending: `SELECT ${COLUMNS} FROM run_cancels c JOIN runs r ON r.id = c.run_id
    WHERE r.member = $1 AND r.status = 'running' ORDER BY c.run_id`,
  /** $1 run ids */
  ofRuns: `SELECT ${COLUMNS} FROM run_cancels c WHERE c.run_id = ANY($1::text[])`,
  /** $1 run ids */
  drop: 'DELETE FROM run_cancels WHERE run_id = ANY($1::text[])',
} as const;

/** NOTIFY channel: a cancel was requested (the member executing the run looks). */
export const CANCEL_CHANNEL = 'distcron_cancel';

export interface CancelRow {
  run_id: string;
  reason: string;
  requested_at: string;
  requested_by: string | null;
}

export function rowToCancel(row: CancelRow): CancelRequest {
  return {
    runId: row.run_id,
    reason: row.reason,
    requestedAt: row.requested_at,
    requestedBy: row.requested_by,
  };
}

export function cancelParams(request: CancelRequest): [string, string, string | null, string] {
  return [request.reason, request.requestedAt, request.requestedBy, request.runId];
}

/** Each taken execution with the requests of its runs. */
export function withCancels(
  taken: Omit<TakenExecution, 'cancels'>[],
  cancels: readonly CancelRequest[],
): TakenExecution[] {
  return taken.map((t) => {
    const ids = new Set(t.runs.map((r) => r.id));
    return { ...t, cancels: cancels.filter((c) => ids.has(c.runId)) };
  });
}

export function runIdsOf(taken: readonly Omit<TakenExecution, 'cancels'>[]): string[] {
  return taken.flatMap((t) => t.runs.map((r) => r.id));
}
