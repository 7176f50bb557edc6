/**
 * The one place where SQLite rows and the store's typed values meet. Times are stored as
 * ISO-8601 UTC strings with milliseconds so operators can read them with `sqlite3`.
 */
import { isoUtc, type Millis, type RunRecord, type RunStatus, type Trigger } from '../core/types.js';
import type { DeadLetter, JobState, NotifyState, OutboxItem, OutboxSink } from './store.js';

/** The `runs` columns in table order (SPEC §8). */
export const RUN_COLUMNS = [
  'id',
  'execution_id',
  'job',
  'node',
  'host',
  'trigger',
  'attempt',
  'scheduled_at',
  'started_at',
  'finished_at',
  'duration_ms',
  'status',
  'exit_code',
  'signal',
  'stdout',
  'stderr',
  'output_truncated',
  'error',
  'parameters',
  'requested_by',
  'parent_runs',
  'script_sha256',
  'member',
] as const;

/** The trailing columns whose RunRecord field has another name or shape (JSON text). */
const FACT_FIELDS = {
  parameters: 'parameters',
  requested_by: 'requestedBy',
  parent_runs: 'parentRuns',
  script_sha256: 'scriptSha256',
  member: 'member',
} as const;
type FactColumn = keyof typeof FACT_FIELDS;
const FACT_COLUMNS = Object.keys(FACT_FIELDS) as FactColumn[];
const JSON_COLUMNS: ReadonlySet<FactColumn> = new Set(['parameters', 'parent_runs']);

/** The RunRecord field a column is read into (the same name but for the trailing columns). */
export function runFieldOf(column: (typeof RUN_COLUMNS)[number]): string {
  return (FACT_FIELDS as Record<string, string>)[column] ?? column;
}

/** True for columns holding JSON text (read back with json() in SQL summaries). */
export function isJsonColumn(column: string): boolean {
  return JSON_COLUMNS.has(column as FactColumn);
}

export interface RunRow {
  id: string;
  execution_id: string;
  job: string;
  node: string | null;
  host: string | null;
  trigger: string;
  attempt: number;
  scheduled_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  status: string;
  exit_code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  output_truncated: number;
  error: string | null;
  parameters: string | null;
  requested_by: string | null;
  parent_runs: string | null;
  script_sha256: string | null;
  member: string | null;
}

/**
 * Times are rewritten as `toISOString()` output so that range filters, which compare text,
 * hold for any ISO-8601 input; durations are whole milliseconds (STRICT INTEGER column).
 */
export function runToRow(run: RunRecord): RunRow {
  return {
    ...pickRunColumns(run),
    ...factsToColumns(run),
    scheduled_at: storedTime(run, 'scheduled_at'),
    started_at: storedTime(run, 'started_at'),
    finished_at: storedTime(run, 'finished_at'),
    duration_ms: run.duration_ms === null ? null : Math.round(run.duration_ms),
    output_truncated: run.output_truncated ? 1 : 0,
  };
}

type TimeColumn = 'scheduled_at' | 'started_at' | 'finished_at';

function storedTime(run: Pick<RunRecord, 'id' | TimeColumn>, column: TimeColumn): string | null {
  const value = run[column];
  if (value === null) return null;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw new Error(`store: run ${run.id} has ${column} "${value}", not an ISO-8601 time; use isoUtc(ms)`);
  }
  return isoUtc(ms);
}

export function storedStartTime(id: string, startedAt: string): string {
  return storedTime({ id, scheduled_at: null, started_at: startedAt, finished_at: null }, 'started_at')!;
}

/** Field by field: a literal of fixed shape (a loop over column names cost several times the query). */
export function rowToRun(row: RunRow): RunRecord {
  return {
    id: row.id,
    execution_id: row.execution_id,
    job: row.job,
    node: row.node,
    host: row.host,
    trigger: row.trigger as Trigger,
    attempt: row.attempt,
    scheduled_at: row.scheduled_at,
    started_at: row.started_at,
    finished_at: row.finished_at,
    duration_ms: row.duration_ms,
    status: row.status as RunStatus,
    exit_code: row.exit_code,
    signal: row.signal,
    stdout: row.stdout,
    stderr: row.stderr,
    output_truncated: row.output_truncated === 1,
    error: row.error,
    parameters: parseJsonColumn<Record<string, string>>(row.parameters),
    requestedBy: row.requested_by ?? null,
    parentRuns: parseJsonColumn<string[]>(row.parent_runs),
    scriptSha256: row.script_sha256 ?? null,
    member: row.member ?? null,
  };
}

function parseJsonColumn<T>(text: string | null | undefined): T | null {
  return text === null || text === undefined ? null : (JSON.parse(text) as T);
}

/** Copies exactly the first release's run columns, so stray properties never reach SQL or the API. */
function pickRunColumns<T extends RunRow | RunRecord>(source: T): Omit<T, FactColumn> {
  const out: Record<string, unknown> = {};
  for (const column of RUN_COLUMNS) {
    if (!Object.hasOwn(FACT_FIELDS, column))
      out[column] = (source as unknown as Record<string, unknown>)[column];
  }
  return out as Omit<T, FactColumn>;
}

function factsToColumns(run: RunRecord): Pick<RunRow, FactColumn> {
  const out: Record<string, string | null> = {};
  for (const column of FACT_COLUMNS) {
    const value = run[FACT_FIELDS[column]] ?? null;
    out[column] =
      value === null ? null : JSON_COLUMNS.has(column) ? JSON.stringify(value) : (value as string);
  }
  return out as Pick<RunRow, FactColumn>;
}

export function isoOrNull(ms: Millis | null): string | null {
  return ms === null ? null : isoUtc(ms);
}

export function millisOrNull(iso: string | null): Millis | null {
  return iso === null ? null : Date.parse(iso);
}

export interface JobStateRow {
  job: string;
  last_scheduled_at: string | null;
  enabled_override: number | null;
  last_status: string | null;
  last_run_id: string | null;
  last_finished_at: string | null;
  schedule_key: string | null;
}

export function rowToJobState(row: JobStateRow): JobState {
  return {
    job: row.job,
    lastScheduledAt: millisOrNull(row.last_scheduled_at),
    enabledOverride: row.enabled_override === null ? null : row.enabled_override === 1,
    lastStatus: row.last_status as RunStatus | null,
    lastRunId: row.last_run_id,
    lastFinishedAt: millisOrNull(row.last_finished_at),
    scheduleKey: row.schedule_key,
  };
}

export interface OutboxRow {
  id: number;
  sink: string;
  key: string;
  payload: string;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
}

export function rowToOutboxItem(row: OutboxRow): OutboxItem {
  return {
    id: row.id,
    sink: row.sink as OutboxSink,
    key: row.key,
    payload: JSON.parse(row.payload) as unknown,
    attempts: row.attempts,
    nextAttemptAt: Date.parse(row.next_attempt_at),
    lastError: row.last_error,
    createdAt: Date.parse(row.created_at),
  };
}

export interface DeadLetterRow {
  id: number;
  sink: string;
  key: string;
  payload: string;
  reason: string;
  created_at: string;
}

export function rowToDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    sink: row.sink as OutboxSink,
    key: row.key,
    payload: JSON.parse(row.payload) as unknown,
    reason: row.reason,
    createdAt: Date.parse(row.created_at),
  };
}

export interface NotifyStateRow {
  job: string;
  state: string;
  since: string;
  last_notified_at: string | null;
  last_reminder_at: string | null;
  flood_window_start: string | null;
  flood_count: number;
}

export function notifyStateToRow(state: NotifyState): NotifyStateRow {
  return {
    job: state.job,
    state: state.state,
    since: isoUtc(state.since),
    last_notified_at: isoOrNull(state.lastNotifiedAt),
    last_reminder_at: isoOrNull(state.lastReminderAt),
    flood_window_start: isoOrNull(state.floodWindowStart),
    flood_count: state.floodCount,
  };
}

export function rowToNotifyState(row: NotifyStateRow): NotifyState {
  return {
    job: row.job,
    state: row.state as NotifyState['state'],
    since: Date.parse(row.since),
    lastNotifiedAt: millisOrNull(row.last_notified_at),
    lastReminderAt: millisOrNull(row.last_reminder_at),
    floodWindowStart: millisOrNull(row.flood_window_start),
    floodCount: row.flood_count,
  };
}
