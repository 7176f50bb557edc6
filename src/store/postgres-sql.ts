/**
 * The PostgreSQL store's statements and its row conversions. Rows travel as JSON where a
 * statement takes many (runs, claims, outbox entries, baselines): one round trip per statement
 * whatever its size, with the column names of the SQLite rows (rows.ts).
 */
import type { RunRecord } from '../core/types.js';
import { FULL_RUN_COLUMNS } from './queries.js';
import { RUN_COLUMNS, rowToRun, runToRow, type RunRow } from './rows.js';
import { RUN_IDENTITY } from './statements.js';

/** A run row as PostgreSQL stores it: output_truncated is a boolean. */
export type PgRunRow = Omit<RunRow, 'output_truncated'> & { output_truncated: boolean };

/** PostgreSQL text cannot hold NUL; output bytes that are NUL are kept as U+FFFD. */
const NUL = String.fromCharCode(0);

export function runToPgRow(run: RunRecord): PgRunRow {
  const row = runToRow(run);
  return {
    ...row,
    stdout: row.stdout.replaceAll(NUL, '\uFFFD'),
    stderr: row.stderr.replaceAll(NUL, '\uFFFD'),
    output_truncated: row.output_truncated === 1,
  };
}

export function pgRowToRun(row: PgRunRow): RunRecord {
  return rowToRun({ ...row, output_truncated: row.output_truncated ? 1 : 0 });
}

/**
 * A run of `r` still waiting in the queue: not started, holding no node slot (a slot is taken
 * just before the command starts, so a run holding one may be executing: that one is lost).
 */
const UNSTARTED_IN_QUEUE = `r.started_at IS NULL
  AND EXISTS (SELECT 1 FROM run_queue q WHERE q.execution_id = r.execution_id)
  AND NOT EXISTS (SELECT 1 FROM node_slots s WHERE s.run_id = r.id)`;

const RUN_SET = RUN_COLUMNS.filter((c) => !RUN_IDENTITY.has(c));

const JOB_STATE_COLUMNS = `job, last_scheduled_at, enabled_override::int AS enabled_override, last_status,
  last_run_id, last_finished_at, schedule_key`;

function upsertJobState(column: string, update: string): string {
  return `INSERT INTO job_state (job, ${column}) VALUES ($1, $2) ON CONFLICT (job) DO UPDATE SET ${update}`;
}

export const PG_SQL = {
  /** $1: JSON array of run rows. */
  insertRuns: `INSERT INTO runs (${FULL_RUN_COLUMNS})
    SELECT ${FULL_RUN_COLUMNS} FROM jsonb_populate_recordset(null::runs, $1::jsonb)`,
  /** $1: JSON array of {id, node, host, started_at}; returns the ids updated. */
  markStarted: `UPDATE runs r SET node = x.node, host = x.host, started_at = x.started_at
    FROM jsonb_to_recordset($1::jsonb) AS x(id text, node text, host text, started_at text)
    WHERE r.id = x.id RETURNING r.id`,
  /**
   * $1: JSON array of run rows, each id once; returns the ids updated. What identifies a run is
   * fixed at insert (see statements.ts).
   */
  updateRuns: `UPDATE runs r SET (${RUN_SET.join(', ')}) = (${RUN_SET.map((c) => `x.${c}`).join(', ')})
    FROM jsonb_populate_recordset(null::runs, $1::jsonb) AS x WHERE r.id = x.id RETURNING r.id`,
  /** $1: run ids; their statuses, rows locked in id order (no deadlock between two finishers). */
  lockRunStatuses: 'SELECT id, status FROM runs WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE',
  getRun: `SELECT ${FULL_RUN_COLUMNS} FROM runs WHERE id = $1`,
  lockRunning: `SELECT ${FULL_RUN_COLUMNS} FROM runs WHERE status = 'running' ORDER BY id FOR UPDATE`,
  lockRunningOf: `SELECT ${FULL_RUN_COLUMNS} FROM runs WHERE status = 'running' AND member = $1
    ORDER BY id FOR UPDATE`,
  /** $1 TTL ms, $2 the caller: runs of members without a heartbeat within the TTL (or of none). */
  lockRunningOfDead: `SELECT ${FULL_RUN_COLUMNS} FROM runs r WHERE r.status = 'running'
    AND r.member IS DISTINCT FROM $2
    AND NOT EXISTS (SELECT 1 FROM cluster_members m WHERE m.id = r.member
      AND m.heartbeat_at > now() - $1 * interval '1 millisecond')
    AND NOT (${UNSTARTED_IN_QUEUE})
    ORDER BY r.id FOR UPDATE SKIP LOCKED`,
  /** $1 TTL ms, $2 the caller: executions taken by dead members go back to the queue. */
  untakeOfDead: `UPDATE run_queue q SET taken_by = NULL, taken_at = NULL
    WHERE q.taken_by IS NOT NULL AND q.taken_by <> $2
    AND NOT EXISTS (SELECT 1 FROM cluster_members m WHERE m.id = q.taken_by
      AND m.heartbeat_at > now() - $1 * interval '1 millisecond')
    RETURNING q.execution_id`,
  /** $1 execution ids given back: their runs that had not started belong to no member again. */
  unassignUnstarted: `UPDATE runs r SET member = NULL WHERE r.execution_id = ANY($1::text[])
    AND r.status = 'running' AND ${UNSTARTED_IN_QUEUE}`,
  /** $1 TTL ms, $2 the caller: slots held by dead members are given back. */
  releaseSlotsOfDead: `WITH gone AS (DELETE FROM node_slots s WHERE s.member <> $2
      AND NOT EXISTS (SELECT 1 FROM cluster_members m WHERE m.id = s.member
        AND m.heartbeat_at > now() - $1 * interval '1 millisecond') RETURNING node),
      n AS (SELECT node, count(*) AS c FROM gone GROUP BY node)
    UPDATE node_load l SET running = greatest(0, l.running - n.c) FROM n WHERE l.node = n.node`,
  /** $1 member, $2 epoch: the row only while that member holds that epoch, unexpired. */
  checkFence: `SELECT 1 FROM cluster_lease WHERE id = 1 AND holder = $1 AND epoch = $2
    AND expires_at > now() FOR SHARE`,
  countRunning: `SELECT count(*) AS n FROM runs WHERE status = 'running'`,
  countRunningForJob: `SELECT count(*) AS n FROM runs WHERE job = $1 AND status = 'running'`,

  /** $1: JSON array of {job, scheduled_at, node_key, attempt, run_id}; a taken key inserts nothing. */
  insertClaims: `INSERT INTO fire_claims (job, scheduled_at, node_key, attempt, run_id)
    SELECT job, scheduled_at, node_key, attempt, run_id FROM jsonb_to_recordset($1::jsonb)
    AS x(job text, scheduled_at text, node_key text, attempt integer, run_id text)
    ON CONFLICT DO NOTHING`,

  /** A claim only moves the last scheduled instant forward (greatest() ignores NULL). */
  /** $1: JSON array of {job, at}, each job once; a claim only moves the instant forward. */
  advanceScheduled: `INSERT INTO job_state (job, last_scheduled_at)
    SELECT job, at FROM jsonb_to_recordset($1::jsonb) AS x(job text, at text)
    ON CONFLICT (job) DO UPDATE
    SET last_scheduled_at = greatest(job_state.last_scheduled_at, excluded.last_scheduled_at)`,
  setLastScheduled: upsertJobState('last_scheduled_at', 'last_scheduled_at = excluded.last_scheduled_at'),
  setEnabledOverride: upsertJobState('enabled_override', 'enabled_override = excluded.enabled_override'),
  /** $1: JSON array of {job, key, at}, each job once; `at` null keeps the stored instant. */
  setBaselines: `INSERT INTO job_state (job, schedule_key, last_scheduled_at)
    SELECT job, key, at FROM jsonb_to_recordset($1::jsonb) AS x(job text, key text, at text)
    ON CONFLICT (job) DO UPDATE SET schedule_key = excluded.schedule_key,
    last_scheduled_at = coalesce(excluded.last_scheduled_at, job_state.last_scheduled_at)`,
  forgetBaseline: 'UPDATE job_state SET last_scheduled_at = NULL, schedule_key = NULL WHERE job = $1',
  /** $1: JSON array of {job, status, id, finished_at}, each job once (its latest outcome). */
  recordOutcomes: `INSERT INTO job_state (job, last_status, last_run_id, last_finished_at)
    SELECT job, status, id, finished_at FROM jsonb_to_recordset($1::jsonb)
    AS x(job text, status text, id text, finished_at text)
    ON CONFLICT (job) DO UPDATE SET last_status = excluded.last_status,
    last_run_id = excluded.last_run_id, last_finished_at = excluded.last_finished_at`,
  getJobState: `SELECT ${JOB_STATE_COLUMNS} FROM job_state WHERE job = $1`,
  listJobStates: `SELECT ${JOB_STATE_COLUMNS} FROM job_state ORDER BY job`,

  /** $1: JSON array of {sink, key, payload}, $2: now; ids follow the array order. */
  enqueue: `INSERT INTO outbox (sink, key, payload, attempts, next_attempt_at, created_at)
    SELECT sink, key, payload, 0, $2, $2
    FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (sink text, key text, payload text))
    WITH ORDINALITY AS x(sink, key, payload, n) ORDER BY n
    ON CONFLICT (sink, key) DO NOTHING`,
  /**
   * Delivery sinks (Elasticsearch, e-mail, webhooks), taken by every member: the items are
   * claimed for $4 ms by the database clock (rows another member is claiming are skipped, not
   * waited for), so each is delivered by one member; a member that dies mid-delivery lets its
   * claim lapse and another takes the items then.
   */
  takeDue: `UPDATE outbox o SET claimed_by = $5, claimed_until = now() + $4 * interval '1 millisecond'
    FROM (SELECT id FROM outbox WHERE sink = $1 AND next_attempt_at <= $2
      AND (claimed_until IS NULL OR claimed_until <= now())
      ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) due
    WHERE o.id = due.id RETURNING o.*`,
  takeDueAfter: `UPDATE outbox o SET claimed_by = $6, claimed_until = now() + $5 * interval '1 millisecond'
    FROM (SELECT id FROM outbox WHERE id > $1 AND sink = $2 AND next_attempt_at <= $3
      AND (claimed_until IS NULL OR claimed_until <= now())
      ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED) due
    WHERE o.id = due.id RETURNING o.*`,
  /**
   * `notify` items are decisions per job that must be taken in order (a failure before the
   * recovery after it): taken inside the planner's transaction, they are locked until it commits,
   * and a second member's planner waits for them instead of skipping ahead.
   */
  takeInOrder: `SELECT * FROM outbox WHERE sink = $1 AND next_attempt_at <= $2
    ORDER BY id LIMIT $3 FOR UPDATE`,
  ackOutbox: 'DELETE FROM outbox WHERE id = ANY($1::bigint[])',
  releaseOutbox: 'UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE id = ANY($1::bigint[])',
  retryOutbox: `UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3,
    claimed_by = NULL, claimed_until = NULL WHERE id = $1`,
  /** One statement: the item leaves the outbox and enters the dead letters, or neither. */
  deadLetter: `WITH moved AS (DELETE FROM outbox WHERE id = $1 RETURNING *)
    INSERT INTO dead_letters (sink, key, payload, attempts, last_error, reason, enqueued_at, created_at)
    SELECT sink, key, payload, attempts, last_error, $2, created_at, $3 FROM moved`,
  outboxBacklog: 'SELECT sink, count(*) AS n FROM outbox GROUP BY sink',
  listDeadLetters: 'SELECT * FROM dead_letters ORDER BY id DESC LIMIT $1',
  listDeadLettersForSink: 'SELECT * FROM dead_letters WHERE sink = $1 ORDER BY id DESC LIMIT $2',

  getNotifyState: 'SELECT * FROM notify_state WHERE job = $1',
  listNotifyStates: 'SELECT * FROM notify_state ORDER BY job',
  setNotifyState: `INSERT INTO notify_state
    (job, state, since, last_notified_at, last_reminder_at, flood_window_start, flood_count)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (job) DO UPDATE SET state = excluded.state, since = excluded.since,
    last_notified_at = excluded.last_notified_at, last_reminder_at = excluded.last_reminder_at,
    flood_window_start = excluded.flood_window_start, flood_count = excluded.flood_count`,

  insertAudit: `INSERT INTO audit (at, token, action, target, address, status) VALUES ($1, $2, $3, $4, $5, $6)`,
  listAudit: 'SELECT * FROM audit WHERE id < $1 ORDER BY id DESC LIMIT $2',
  appendOutput: `INSERT INTO run_output (run_id, "offset", end_offset, stream, text)
    SELECT c.run_id, c."offset", c.end_offset, c.stream, c.text
    FROM jsonb_to_recordset($1::jsonb) AS c(run_id text, "offset" bigint, end_offset bigint, stream text, text text)
    ON CONFLICT DO NOTHING`,
  readOutput: `SELECT run_id, "offset"::float8 AS "offset", stream, text FROM run_output
    WHERE run_id = $1 AND end_offset > $2 ORDER BY "offset" LIMIT $3`,

  /**
   * Deletes at most $2 final runs finished before $1 (oldest finish first) and their claims;
   * claim keys of manual executions ("execution:<id>") hold no instant and go with their run.
   * Rows another member is pruning are skipped.
   */
  prune: `WITH doomed AS (SELECT id FROM runs WHERE finished_at < $1 AND status <> 'running'
      ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED),
    gone AS (DELETE FROM runs WHERE id IN (SELECT id FROM doomed) RETURNING id),
    outs AS (DELETE FROM run_output WHERE run_id IN (SELECT id FROM gone)),
    cancels AS (DELETE FROM run_cancels WHERE run_id IN (SELECT id FROM gone)),
    claims AS (DELETE FROM fire_claims WHERE run_id IN (SELECT id FROM gone)
      AND (scheduled_at < $1 OR scheduled_at !~ '^[0-9]'))
    SELECT count(*) AS n FROM gone`,
} as const;

/** SQLite-style `@name` parameters (queries.ts) as PostgreSQL's `$n`. */
export function positional(
  sql: string,
  params: Readonly<Record<string, unknown>>,
): { text: string; values: unknown[] } {
  const names: string[] = [];
  const text = sql.replace(/@(\w+)/g, (_, name: string) => {
    const known = names.indexOf(name);
    return `$${known >= 0 ? known + 1 : names.push(name)}`;
  });
  return { text, values: names.map((name) => params[name]) };
}
