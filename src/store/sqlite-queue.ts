/**
 * The run queue and node slots on SQLite (SPEC §15): the same tables and the same path as on
 * PostgreSQL, for a one-member cluster. One connection writes at a time, so no row locks are
 * needed; the callers' transactions keep each operation whole.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { Clock } from '../core/clock.js';
import { isoUtc } from '../core/types.js';
import type { QueueActivity, QueueEntry, TakenExecution } from './async-store.js';
import { FULL_RUN_COLUMNS } from './queries.js';
import { rowToRun, type RunRow } from './rows.js';

type StatementName =
  | 'enqueue'
  | 'waiting'
  | 'take'
  | 'anyWaiting'
  | 'claimRuns'
  | 'end'
  | 'activity'
  | 'bump'
  | 'holdSlot'
  | 'dropSlot'
  | 'unbump'
  | 'loads'
  | 'dropQueue'
  | 'dropAllSlots'
  | 'resetLoads';

interface QueueRow {
  seq: number;
  execution_id: string;
  job: string;
  after_previous: number;
  job_def: string | null;
}

function prepare(db: Database): Readonly<Record<StatementName, Statement>> {
  return {
    enqueue: db.prepare(`INSERT INTO run_queue (execution_id, job, after_previous, job_def, queued_at)
      VALUES (@execution_id, @job, @after_previous, @job_def, @now) ON CONFLICT (execution_id) DO NOTHING`),
    waiting: db.prepare(`SELECT seq, execution_id, job, after_previous, job_def FROM run_queue q
      WHERE q.taken_by IS NULL
        AND NOT (q.after_previous = 1 AND EXISTS (SELECT 1 FROM run_queue p WHERE p.job = q.job AND p.seq < q.seq))
      ORDER BY q.seq LIMIT ?`),
    take: db.prepare('UPDATE run_queue SET taken_by = ?, taken_at = ? WHERE seq = ?'),
    anyWaiting: db.prepare('SELECT EXISTS (SELECT 1 FROM run_queue WHERE taken_by IS NULL) AS waiting'),
    claimRuns: db.prepare(`UPDATE runs SET member = ? WHERE execution_id = ?
      AND status = 'running' AND started_at IS NULL RETURNING ${FULL_RUN_COLUMNS}`),
    end: db.prepare('DELETE FROM run_queue WHERE execution_id = ?'),
    activity: db.prepare(`SELECT count(*) AS executions,
      coalesce(sum(CASE WHEN taken_by IS NULL AND after_previous = 1 THEN 1 ELSE 0 END), 0) AS waiting
      FROM run_queue WHERE job = ?`),
    bump: db.prepare(`INSERT INTO node_load (node, running) SELECT @node, 1 WHERE @capacity > 0
      ON CONFLICT (node) DO UPDATE SET running = running + 1 WHERE running < @capacity RETURNING node`),
    holdSlot: db.prepare(`INSERT INTO node_slots (run_id, node, member, taken_at) VALUES (?, ?, ?, ?)`),
    dropSlot: db.prepare('DELETE FROM node_slots WHERE run_id = ? RETURNING node'),
    unbump: db.prepare('UPDATE node_load SET running = max(0, running - 1) WHERE node = ?'),
    loads: db.prepare('SELECT node, running FROM node_load WHERE running > 0'),
    dropQueue: db.prepare('DELETE FROM run_queue'),
    dropAllSlots: db.prepare('DELETE FROM node_slots'),
    resetLoads: db.prepare('DELETE FROM node_load'),
  };
}

export class SqliteQueue {
  private readonly st: ReturnType<typeof prepare>;

  constructor(
    db: Database,
    private readonly clock: Clock,
  ) {
    this.st = prepare(db);
  }

  enqueue(entries: readonly QueueEntry[]): void {
    const now = isoUtc(this.clock.now());
    for (const e of entries) {
      const row = { execution_id: e.executionId, job: e.job, job_def: e.jobDef, now };
      this.st.enqueue.run({ ...row, after_previous: e.afterPrevious ? 1 : 0 });
    }
  }

  /**
   * A read, outside any transaction: an idle member's poll must not take the write lock (with
   * another connection writing, better-sqlite3 would block the event loop for the busy timeout).
   */
  hasWaiting(): boolean {
    return (this.st.anyWaiting.get() as { waiting: number }).waiting === 1;
  }

  /** Inside the caller's transaction. */
  take(member: string, limit: number): Omit<TakenExecution, 'cancels'>[] {
    if (limit <= 0) return [];
    const now = isoUtc(this.clock.now());
    const rows = this.st.waiting.all(Math.floor(limit)) as QueueRow[];
    return rows.map((r) => {
      this.st.take.run(member, now, r.seq);
      const runs = (this.st.claimRuns.all(member, r.execution_id) as RunRow[]).map(rowToRun);
      runs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const entry = { executionId: r.execution_id, job: r.job, afterPrevious: r.after_previous === 1 };
      return { ...entry, jobDef: r.job_def, runs };
    });
  }

  end(executionId: string): void {
    this.st.end.run(executionId);
  }

  activity(job: string): QueueActivity {
    return this.st.activity.get(job) as QueueActivity;
  }

  /** Inside the caller's transaction. */
  takeSlot(node: string, capacity: number, runId: string, member: string): boolean {
    if (this.st.bump.get({ node, capacity }) === undefined) return false;
    this.st.holdSlot.run(runId, node, member, isoUtc(this.clock.now()));
    return true;
  }

  /** Inside the caller's transaction; true when a slot was held. */
  releaseSlot(runId: string): boolean {
    const row = this.st.dropSlot.get(runId) as { node: string } | undefined;
    if (row) this.st.unbump.run(row.node);
    return row !== undefined;
  }

  loads(): Record<string, number> {
    const rows = this.st.loads.all() as { node: string; running: number }[];
    return Object.fromEntries(rows.map((r) => [r.node, r.running]));
  }

  /**
   * At start-up (the daemon alone), every running run just recorded lost: nothing queued is
   * left to run (SPEC §8), and every slot is free.
   */
  releaseAll(): void {
    this.st.dropQueue.run();
    this.st.dropAllSlots.run();
    this.st.resetLoads.run();
  }
}
