/**
 * The shared run queue and the cluster-wide node slots on PostgreSQL (SPEC §15). Members take
 * executions with FOR UPDATE SKIP LOCKED, so two members never take the same one and neither
 * waits for the other; every change a waiting member could act on is announced with NOTIFY
 * (delivered at commit), which a member's listening connection turns into a wake-up.
 */
import { isoUtc } from '../core/types.js';
import type { CancelRequest, QueueActivity, QueueEntry, TakenExecution } from './async-store.js';
import {
  CANCEL_CHANNEL,
  PG_CANCELS_SQL,
  cancelParams,
  rowToCancel,
  runIdsOf,
  withCancels,
  type CancelRow,
} from './cancels-sql.js';
import { PgOutboxOps } from './postgres-outbox.js';
import type { Session } from './postgres-session.js';
import { pgRowToRun, type PgRunRow } from './postgres-sql.js';
import { FULL_RUN_COLUMNS } from './queries.js';

/** NOTIFY channels: the queue changed (work to take), a node slot was given back. */
export const QUEUE_CHANNEL = 'distcron_queue';
export const SLOTS_CHANNEL = 'distcron_slots';

export const QUEUE_SQL = {
  /** $1: JSON array of {execution_id, job, after_previous, job_def}; $2: now. */
  enqueue: `INSERT INTO run_queue (execution_id, job, after_previous, job_def, queued_at)
    SELECT execution_id, job, after_previous, job_def, $2 FROM jsonb_to_recordset($1::jsonb)
    AS x(execution_id text, job text, after_previous boolean, job_def text)
    ON CONFLICT (execution_id) DO NOTHING`,
  /**
   * $1 member, $2 limit, $3 now: the oldest waiting executions whose turn it is (an execution
   * that waits for its predecessors only once none of the job's earlier ones is left).
   */
  take: `WITH picked AS (
      SELECT q.seq FROM run_queue q WHERE q.taken_by IS NULL
        AND NOT (q.after_previous AND EXISTS (SELECT 1 FROM run_queue p WHERE p.job = q.job AND p.seq < q.seq))
      ORDER BY q.seq LIMIT $2 FOR UPDATE SKIP LOCKED)
    UPDATE run_queue q SET taken_by = $1, taken_at = $3 FROM picked WHERE q.seq = picked.seq
    RETURNING q.seq, q.execution_id, q.job, q.after_previous, q.job_def`,
  /** $1 member, $2 execution ids: their runs still to start become the member's. */
  claimRuns: `UPDATE runs SET member = $1 WHERE execution_id = ANY($2::text[])
    AND status = 'running' AND started_at IS NULL RETURNING ${FULL_RUN_COLUMNS}`,
  /** One statement (its own transaction): the NOTIFY goes out at its commit, only when a row left. */
  end: `WITH gone AS (DELETE FROM run_queue WHERE execution_id = $1 RETURNING 1)
    SELECT pg_notify('${QUEUE_CHANNEL}', '') FROM gone LIMIT 1`,
  /** $1: job names; a job with nothing queued has no row. */
  activity: `SELECT job, count(*) AS executions,
    count(*) FILTER (WHERE taken_by IS NULL AND after_previous) AS waiting
    FROM run_queue WHERE job = ANY($1::text[]) GROUP BY job`,
  /** $1 node, $2 run, $3 member, $4 capacity, $5 now: one row lock on the node's count. */
  takeSlot: `WITH bumped AS (
      INSERT INTO node_load AS l (node, running) SELECT $1, 1 WHERE $4 > 0
      ON CONFLICT (node) DO UPDATE SET running = l.running + 1 WHERE l.running < $4
      RETURNING node)
    INSERT INTO node_slots (run_id, node, member, taken_at) SELECT $2, node, $3, $5 FROM bumped`,
  releaseSlot: `WITH gone AS (DELETE FROM node_slots WHERE run_id = $1 RETURNING node),
      freed AS (UPDATE node_load l SET running = l.running - 1 FROM gone WHERE l.node = gone.node
        RETURNING l.node)
    SELECT pg_notify('${SLOTS_CHANNEL}', '') FROM freed LIMIT 1`,
  loads: 'SELECT node, running FROM node_load WHERE running > 0',
  /** $1 member: its slots (a crash left them) are given back. */
  releaseSlotsOf: `WITH gone AS (DELETE FROM node_slots WHERE member = $1 RETURNING node),
      n AS (SELECT node, count(*) AS c FROM gone GROUP BY node)
    UPDATE node_load l SET running = greatest(0, l.running - n.c) FROM n WHERE l.node = n.node`,
  /** $1 member: what it had taken leaves the queue (its runs were all its own, now lost). */
  dropTakenBy: 'DELETE FROM run_queue WHERE taken_by = $1',
  notify: 'SELECT pg_notify($1, $2)',
} as const;

interface QueueRow {
  seq: number;
  execution_id: string;
  job: string;
  after_previous: boolean;
  job_def: string | null;
}

/** The run-queue half of the PostgreSQL store's operations (PgOps adds runs and job state). */
export abstract class PgQueueOps extends PgOutboxOps {
  async enqueueExecutions(entries: readonly QueueEntry[]): Promise<void> {
    if (entries.length > 0) await this.s.atomically((s) => this.enqueueIn(s, entries));
  }

  protected async enqueueIn(s: Session, entries: readonly QueueEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const rows = entries.map((e) => ({
      execution_id: e.executionId,
      job: e.job,
      after_previous: e.afterPrevious,
      job_def: e.jobDef,
    }));
    await s.query(QUEUE_SQL.enqueue, [JSON.stringify(rows), isoUtc(this.clock.now())]);
    await s.query(QUEUE_SQL.notify, [QUEUE_CHANNEL, '']);
  }

  async takeExecutions(member: string, limit: number): Promise<TakenExecution[]> {
    if (limit <= 0) return [];
    return this.s.atomically(async (s) => {
      const now = isoUtc(this.clock.now());
      const { rows } = await s.query<QueueRow>(QUEUE_SQL.take, [member, Math.floor(limit), now]);
      if (rows.length === 0) return [];
      rows.sort((a, b) => a.seq - b.seq);
      const ids = rows.map((r) => r.execution_id);
      const runs = (await s.query<PgRunRow>(QUEUE_SQL.claimRuns, [member, ids])).rows.map(pgRowToRun);
      const taken = rows.map((r) => ({
        executionId: r.execution_id,
        job: r.job,
        afterPrevious: r.after_previous,
        jobDef: r.job_def,
        runs: runs.filter((run) => run.execution_id === r.execution_id).sort(byId),
      }));
      // In the take's transaction: a request committed before it is seen here, a later one by
      // the member's notification or poll (the runs are the member's once this commits).
      const cancels = await s.query<CancelRow>(PG_CANCELS_SQL.ofRuns, [runIdsOf(taken)]);
      return withCancels(taken, cancels.rows.map(rowToCancel));
    });
  }

  async requestCancel(request: CancelRequest): Promise<boolean> {
    return this.s.atomically(async (s) => {
      const { rowCount } = await s.query(PG_CANCELS_SQL.request, cancelParams(request));
      if (rowCount > 0) await s.query(QUEUE_SQL.notify, [CANCEL_CHANNEL, '']);
      return rowCount > 0;
    });
  }

  async pendingCancels(member: string): Promise<CancelRequest[]> {
    const { rows } = await this.s.query<CancelRow>(PG_CANCELS_SQL.pending, [member]);
    return rows.map(rowToCancel);
  }

  async endExecution(executionId: string): Promise<void> {
    await this.s.query(QUEUE_SQL.end, [executionId]);
  }

  async queueActivity(jobs: readonly string[]): Promise<Map<string, QueueActivity>> {
    const activity = new Map(jobs.map((job) => [job, { executions: 0, waiting: 0 }]));
    if (jobs.length === 0) return activity;
    const { rows } = await this.s.query<QueueActivity & { job: string }>(QUEUE_SQL.activity, [jobs]);
    for (const r of rows)
      activity.set(r.job, { executions: Number(r.executions), waiting: Number(r.waiting) });
    return activity;
  }

  async takeNodeSlot(node: string, capacity: number, runId: string, member: string): Promise<boolean> {
    const now = isoUtc(this.clock.now());
    const { rowCount } = await this.s.query(QUEUE_SQL.takeSlot, [node, runId, member, capacity, now]);
    return rowCount === 1;
  }

  async releaseNodeSlot(runId: string): Promise<void> {
    await this.s.query(QUEUE_SQL.releaseSlot, [runId]);
  }

  async nodeLoads(): Promise<Record<string, number>> {
    const { rows } = await this.s.query<{ node: string; running: number }>(QUEUE_SQL.loads);
    return Object.fromEntries(rows.map((r) => [r.node, Number(r.running)]));
  }

  /**
   * A member starting again, its runs just recorded lost: the executions it had taken leave the
   * queue (a member takes every unstarted run of one, so none is left to run) and its slots are
   * freed; executions waiting behind them may go.
   */
  protected async releaseMemberWork(s: Session, member: string): Promise<void> {
    const dropped = await s.query(QUEUE_SQL.dropTakenBy, [member]);
    await s.query(QUEUE_SQL.releaseSlotsOf, [member]);
    if (dropped.rowCount > 0) await s.query(QUEUE_SQL.notify, [QUEUE_CHANNEL, '']);
  }
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
