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

type Condition = { name: keyof RunFilter; sql: string };

const CONDITIONS: readonly Condition[] = [
  { name: 'job', sql: 'job = @job' },
  { name: 'node', sql: 'node = @node' },
  { name: 'status', sql: 'status = @status' },
  { name: 'trigger', sql: 'trigger = @trigger' },
  { name: 'since', sql: `${RUN_TIME_SQL} >= @since` },
  { name: 'until', sql: `${RUN_TIME_SQL} < @until` },
  { name: 'cursor', sql: 'id < @cursor' },
];

export interface RunQuery {
  /** Identifies the SQL text; equal shapes share one prepared statement. */
  shape: string;
  sql: string;
  params: Record<string, string | number>;
  limit: number;
}

/**
 * Newest first (ids are time-sortable ULIDs). Fetches one row more than the page so the store
 * knows whether a next page exists without an extra query.
 */
export function buildRunQuery(filter: RunFilter): RunQuery {
  const params = filterParams(filter);
  const present = CONDITIONS.filter((c) => params[c.name] !== undefined);
  const withOutput = filter.withOutput === true;
  const where = present.length > 0 ? `WHERE ${present.map((c) => c.sql).join(' AND ')}` : '';
  const columns = withOutput ? FULL_RUN_COLUMNS : LIST_RUN_COLUMNS;
  const limit = clampLimit(filter.limit);
  const timeBounded = params.since !== undefined || params.until !== undefined;
  return {
    shape: `${present.map((c) => c.name).join(',')}|${withOutput ? 'output' : 'list'}`,
    sql: timeBounded
      ? pageOfIdsFirst(columns, where)
      : `SELECT ${columns} FROM runs ${where} ORDER BY id DESC LIMIT @fetch`,
    params: { ...params, fetch: limit + 1 },
    limit,
  };
}

/**
 * A time range can match many rows that must be sorted by id: sort only the ids (from the
 * covering `runs_time_id` index), then read the page's rows, instead of sorting whole rows.
 */
function pageOfIdsFirst(columns: string, where: string): string {
  const ids = `SELECT id FROM runs ${where} ORDER BY id DESC LIMIT @fetch`;
  return `SELECT ${columns} FROM runs WHERE id IN (${ids}) ORDER BY id DESC`;
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
