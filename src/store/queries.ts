/**
 * SQL for `queryRuns`: one statement per filter shape (which filters are present), so every
 * statement is prepared once and each shape walks the index made for it (see migrations.ts).
 */
import { isoUtc } from '../core/types.js';
import type { RunFilter } from './store.js';
import { RUN_COLUMNS } from './rows.js';

/** since/until compare against this expression; it must match the `runs_time` index exactly. */
export const RUN_TIME_SQL = 'coalesce(started_at, scheduled_at)';

export const MAX_PAGE_SIZE = 1000;

/** A query the caller got wrong (bad cursor, unparsable time); the API answers 400 with the message. */
export class InvalidRunQueryError extends Error {}

export const FULL_RUN_COLUMNS = RUN_COLUMNS.join(', ');

/** Output columns are replaced by '' so list queries never read (possibly large) output. */
export const LIST_RUN_COLUMNS = RUN_COLUMNS.map((c) =>
  c === 'stdout' || c === 'stderr' ? `'' AS ${c}` : c,
).join(', ');

/** What a run query returns per row: full records, or records without output. */
export type RunRowForm = 'output' | 'list';

const COLUMNS_OF: Record<RunRowForm, string> = {
  output: FULL_RUN_COLUMNS,
  list: LIST_RUN_COLUMNS,
};

type Condition = { name: keyof RunFilter; sql: string; time?: true };

const CONDITIONS: readonly Condition[] = [
  { name: 'job', sql: 'job = @job' },
  { name: 'node', sql: 'node = @node' },
  { name: 'status', sql: 'status = @status' },
  { name: 'trigger', sql: 'trigger = @trigger' },
  { name: 'since', sql: `${RUN_TIME_SQL} >= @since`, time: true },
  { name: 'until', sql: `${RUN_TIME_SQL} < @until`, time: true },
  { name: 'cursor', sql: 'id < @cursor' },
];

/** How many of the newest candidate rows the probe of a time-bounded query looks at. */
export const TIME_PROBE_ROWS = 1000;

export interface RunQuery {
  /** Identifies the SQL text; equal shapes share one prepared statement. */
  shape: string;
  form: RunRowForm;
  sql: string;
  /**
   * Time-bounded queries only: a cheap first try over the newest TIME_PROBE_ROWS candidates.
   * When it yields a full fetch its answer is exact (rows outside the probe have smaller ids);
   * otherwise `sql` runs.
   */
  probeSql?: string;
  params: Record<string, string | number>;
  limit: number;
}

/**
 * Newest first (ids are time-sortable ULIDs). Fetches one row more than the page so the store
 * knows whether a next page exists without an extra query.
 */
export function buildRunQuery(
  filter: RunFilter,
  form: RunRowForm = filter.withOutput ? 'output' : 'list',
): RunQuery {
  const params = filterParams(filter);
  const present = CONDITIONS.filter((c) => params[c.name] !== undefined);
  const limit = clampLimit(filter.limit);
  const shape = `${present.map((c) => c.name).join(',')}|${form}`;
  let texts = SQL_OF_SHAPE.get(shape);
  if (texts === undefined) SQL_OF_SHAPE.set(shape, (texts = sqlOf(form, present)));
  return { shape, form, ...texts, params: { ...params, fetch: limit + 1, probe: TIME_PROBE_ROWS }, limit };
}

/** The SQL of each shape (at most 2^7 filter sets × 2 forms), built once. */
const SQL_OF_SHAPE = new Map<string, Pick<RunQuery, 'sql' | 'probeSql'>>();

function sqlOf(form: RunRowForm, present: readonly Condition[]): Pick<RunQuery, 'sql' | 'probeSql'> {
  const columns = COLUMNS_OF[form];
  const sql = `SELECT ${columns} FROM runs ${whereOf(present)} ORDER BY id DESC LIMIT @fetch`;
  if (!present.some((c) => c.time)) return { sql };
  return { sql: pageOfIdsFirst(columns, present), probeSql: probeNewest(form, present) };
}

function whereOf(conditions: readonly Condition[]): string {
  return conditions.length > 0 ? `WHERE ${conditions.map((c) => c.sql).join(' AND ')}` : '';
}

/**
 * A time range can match many rows that must be sorted by id: sort only the ids (from the
 * covering `runs_time_id` index), then read the page's rows, instead of sorting whole rows.
 * The cost grows with the rows in the range.
 */
function pageOfIdsFirst(columns: string, conditions: readonly Condition[]): string {
  const ids = `SELECT id FROM runs ${whereOf(conditions)} ORDER BY id DESC LIMIT @fetch`;
  return `SELECT ${columns} FROM runs WHERE id IN (${ids}) ORDER BY id DESC`;
}

/** Ranges reaching up to the newest runs (the usual "since yesterday") are answered from the top. */
function probeNewest(form: RunRowForm, conditions: readonly Condition[]): string {
  const others = conditions.filter((c) => !c.time);
  const timeTests = conditions.filter((c) => c.time).map((c) => c.sql.replace(RUN_TIME_SQL, 't'));
  const newest = `SELECT id, ${RUN_TIME_SQL} AS t FROM runs ${whereOf(others)} ORDER BY id DESC LIMIT @probe`;
  const inRange = (column: string) =>
    `SELECT ${column} FROM (${newest}) AS newest WHERE ${timeTests.join(' AND ')} ORDER BY id DESC LIMIT @fetch`;
  return `SELECT ${COLUMNS_OF[form]} FROM runs WHERE id IN (${inRange('id')}) ORDER BY id DESC`;
}

function filterParams(filter: RunFilter): Record<string, string> {
  const params: Record<string, string> = {};
  for (const name of ['job', 'node', 'status', 'trigger'] as const) {
    const value = filter[name];
    if (value !== undefined) params[name] = value;
  }
  if (filter.since !== undefined) params.since = normalizeTime('since', filter.since);
  if (filter.until !== undefined) params.until = normalizeTime('until', filter.until);
  if (filter.cursor !== undefined) params.cursor = decodeCursor(filter.cursor);
  return params;
}

function clampLimit(limit: number): number {
  if (!Number.isFinite(limit)) return MAX_PAGE_SIZE;
  return Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(limit)));
}

/** Stored times are `toISOString()` output, so filters are brought to that form to compare as text. */
function normalizeTime(name: string, value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw new InvalidRunQueryError(
      `store: ${name} "${value}" is not an ISO-8601 time; use e.g. 2026-11-26T09:00:00Z`,
    );
  }
  return isoUtc(ms);
}

const CURSOR_PREFIX = 'r1:';

export function encodeCursor(lastId: string): string {
  return Buffer.from(CURSOR_PREFIX + lastId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const text = /^[A-Za-z0-9_-]{1,400}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!text.startsWith(CURSOR_PREFIX) || text.length === CURSOR_PREFIX.length) {
    throw new InvalidRunQueryError(
      'store: invalid cursor; pass back the nextCursor of a previous page unchanged, or omit it',
    );
  }
  return text.slice(CURSOR_PREFIX.length);
}
