/** Every fixed statement of the SQLite store, prepared once when the store opens. */
import type { Database, Statement } from 'better-sqlite3';
import { FULL_RUN_COLUMNS } from './queries.js';
import { RUN_COLUMNS } from './rows.js';

const RUN_VALUES = RUN_COLUMNS.map((c) => `@${c}`).join(', ');
/**
 * What a run is (which job, execution, trigger, attempt, instant) is fixed when it is inserted;
 * finishing it sets only the rest. Leaving those columns out of SET spares SQLite rewriting
 * their index entries: half the cost of finishing a run.
 */
export const RUN_IDENTITY: ReadonlySet<string> = new Set([
  'id',
  'execution_id',
  'job',
  'trigger',
  'attempt',
  'scheduled_at',
  'parameters',
  'requested_by',
  'parent_runs',
  'script_sha256',
]);
const RUN_UPDATES = RUN_COLUMNS.filter((c) => !RUN_IDENTITY.has(c))
  .map((c) => `${c} = @${c}`)
  .join(', ');

function upsertJobState(column: string, update: string): string {
  return `INSERT INTO job_state (job, ${column}) VALUES (@job, @value) ON CONFLICT (job) DO UPDATE SET ${update}`;
}

const SQL = {
  insertRun: `INSERT INTO runs (${FULL_RUN_COLUMNS}) VALUES (${RUN_VALUES})`,
  updateRun: `UPDATE runs SET ${RUN_UPDATES} WHERE id = @id`,
  markStarted: 'UPDATE runs SET node = @node, host = @host, started_at = @started_at WHERE id = @id',
  getRun: `SELECT ${FULL_RUN_COLUMNS} FROM runs WHERE id = ?`,
  selectRunning: `SELECT ${FULL_RUN_COLUMNS} FROM runs WHERE status = 'running' ORDER BY id`,
  countRunning: `SELECT count(*) AS n FROM runs WHERE status = 'running'`,
  countRunningForJob: `SELECT count(*) AS n FROM runs WHERE job = ? AND status = 'running'`,

  insertClaim: `INSERT INTO fire_claims (job, scheduled_at, node_key, attempt, run_id)
    VALUES (@job, @scheduled_at, @node_key, @attempt, @run_id) ON CONFLICT DO NOTHING`,

  /** A claim only moves the last scheduled instant forward, so a late catch-up never rewinds it. */
  advanceScheduled: upsertJobState(
    'last_scheduled_at',
    "last_scheduled_at = max(coalesce(last_scheduled_at, ''), excluded.last_scheduled_at)",
  ),
  setLastScheduled: upsertJobState('last_scheduled_at', 'last_scheduled_at = excluded.last_scheduled_at'),
  /**
   * Schedule baselines from a JSON array of {job, key, at} (one statement for thousands); `at`
   * null keeps the stored instant. `WHERE true` keeps SQLite from reading ON CONFLICT as part
   * of the SELECT.
   */
  setBaselines: `INSERT INTO job_state (job, schedule_key, last_scheduled_at)
    SELECT json_extract(value, '$.job'), json_extract(value, '$.key'), json_extract(value, '$.at')
    FROM json_each(?) WHERE true ON CONFLICT (job) DO UPDATE SET schedule_key = excluded.schedule_key,
    last_scheduled_at = coalesce(excluded.last_scheduled_at, job_state.last_scheduled_at)`,
  forgetBaseline: 'UPDATE job_state SET last_scheduled_at = NULL, schedule_key = NULL WHERE job = ?',
  setEnabledOverride: upsertJobState('enabled_override', 'enabled_override = excluded.enabled_override'),
  recordOutcome: `INSERT INTO job_state (job, last_status, last_run_id, last_finished_at)
    VALUES (@job, @status, @id, @finished_at) ON CONFLICT (job) DO UPDATE SET
    last_status = excluded.last_status, last_run_id = excluded.last_run_id,
    last_finished_at = excluded.last_finished_at`,
  getJobState: 'SELECT * FROM job_state WHERE job = ?',
  listJobStates: 'SELECT * FROM job_state ORDER BY job',

  enqueue: `INSERT INTO outbox (sink, key, payload, attempts, next_attempt_at, created_at)
    VALUES (@sink, @key, @payload, 0, @now, @now) ON CONFLICT (sink, key) DO NOTHING`,
  ackOutbox: 'DELETE FROM outbox WHERE id = ?',
  retryOutbox: `UPDATE outbox SET attempts = attempts + 1, last_error = @error,
    next_attempt_at = @next WHERE id = @id`,
  copyToDeadLetters: `INSERT INTO dead_letters
    (sink, key, payload, attempts, last_error, reason, enqueued_at, created_at)
    SELECT sink, key, payload, attempts, last_error, @reason, created_at, @now FROM outbox WHERE id = @id`,
  outboxBacklog: 'SELECT sink, count(*) AS n FROM outbox GROUP BY sink',
  listDeadLetters: 'SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?',
  listDeadLettersForSink: 'SELECT * FROM dead_letters WHERE sink = ? ORDER BY id DESC LIMIT ?',

  getNotifyState: 'SELECT * FROM notify_state WHERE job = ?',
  listNotifyStates: 'SELECT * FROM notify_state ORDER BY job',
  setNotifyState: `INSERT INTO notify_state
    (job, state, since, last_notified_at, last_reminder_at, flood_window_start, flood_count)
    VALUES (@job, @state, @since, @last_notified_at, @last_reminder_at, @flood_window_start, @flood_count)
    ON CONFLICT (job) DO UPDATE SET state = excluded.state, since = excluded.since,
    last_notified_at = excluded.last_notified_at, last_reminder_at = excluded.last_reminder_at,
    flood_window_start = excluded.flood_window_start, flood_count = excluded.flood_count`,

  insertAudit: `INSERT INTO audit (at, token, action, target, address, status)
    VALUES (@at, @token, @action, @target, @address, @status)`,
  listAudit: 'SELECT * FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?',

  pruneCandidates: `SELECT id FROM runs WHERE finished_at < ? AND status <> 'running'
    ORDER BY finished_at LIMIT ?`,
  deleteRun: 'DELETE FROM runs WHERE id = ?',
  deleteRunOutput: 'DELETE FROM run_output WHERE run_id = ?',
  appendOutput: `INSERT INTO run_output (run_id, "offset", end_offset, stream, text)
    VALUES (@run_id, @offset, @end_offset, @stream, @text) ON CONFLICT DO NOTHING`,
  readOutput: `SELECT run_id, "offset", stream, text FROM run_output
    WHERE run_id = ? AND end_offset > ? ORDER BY "offset" LIMIT ?`,
  /** Claim keys of manual executions ("execution:<id>") hold no instant; they go with their run. */
  deleteClaims: `DELETE FROM fire_claims WHERE run_id = @id
    AND (scheduled_at < @before OR scheduled_at NOT GLOB '[0-9]*')`,
} as const;

export type Statements = Readonly<Record<keyof typeof SQL, Statement>>;

export function prepareStatements(db: Database): Statements {
  return Object.fromEntries(Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)])) as Statements;
}
