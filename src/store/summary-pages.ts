import type { Statement } from 'better-sqlite3';
import { buildRunQuery, encodeCursor, type RunQuery } from './queries.js';
import type { RunFilter, RunJsonPage } from './store.js';
import { RunSummaryCache, type CachedSummary } from './summary-cache.js';

/** What the run lists need of the SQLite store. */
export interface SummarySource {
  /** The page's rows of a run query, plus one more when another page follows. */
  pageRows(query: RunQuery): unknown[];
  /** Summaries of the runs whose rowids are in a JSON array. */
  summariesByRowid: Statement;
  /** PRAGMA data_version, plucked. */
  dataVersion: Statement;
  /** Runs `body` in one read transaction (one snapshot). */
  snapshot<T>(body: () => T): T;
  inTransaction(): boolean;
}

interface SummaryRow {
  rowid: number;
  id: string;
  /** 1 when the run's status is final. */
  final: number;
  json: string;
}

/** How fast the estimate of the cache's usefulness follows the latest pages (0-1). */
const USEFULNESS_WEIGHT = 0.1;

/**
 * The API's run lists (summaries without output), served from a cache of finished runs'
 * summaries when that pays: the page's rowids are read from the index, and only what the cache
 * lacks from the table, all in one snapshot. While recent pages were mostly not in the cache
 * (e.g. one-off queries over many jobs) the rowid query would be spent in vain, so pages are
 * read whole from the table and only checked against the cache, until they are found there again.
 */
export class SummaryPages {
  readonly cache: RunSummaryCache;
  /** PRAGMA data_version when the cache was last known to match the file. */
  private version: number | null = null;
  /** Moving share of recent pages that were (or would have been) mostly in the cache. */
  private usefulness = 1;

  constructor(
    private readonly source: SummarySource,
    capacity: number,
  ) {
    this.cache = new RunSummaryCache(capacity);
  }

  page(filter: RunFilter): RunJsonPage {
    // Inside a write transaction a summary could be of a write that is then rolled back.
    if (this.source.inTransaction() || this.cache.capacity <= 0) return this.readPage(filter, false);
    if (this.usefulness < 0.5) return this.source.snapshot(() => this.readPage(filter, true));
    const query = buildRunQuery(filter, 'rowid');
    return this.source.snapshot(() => {
      const rowids = this.source.pageRows(query) as number[];
      this.forgetForeignWrites();
      const more = rowids.length > query.limit;
      const page = this.cachedSummaries(more ? rowids.slice(0, query.limit) : rowids);
      this.noteUseful(page !== null);
      if (page === null) return this.readPage(filter, true);
      return { runsJson: page.map((s) => s.json), nextCursor: nextCursorOf(page, more) };
    });
  }

  /** The page read from the table; with `cache`, its finished runs' summaries are kept. */
  private readPage(filter: RunFilter, cache: boolean): RunJsonPage {
    const query = buildRunQuery(filter, 'summary');
    const rows = this.source.pageRows(query) as SummaryRow[];
    const page = rows.slice(0, query.limit);
    if (cache) this.keep(page);
    return { runsJson: page.map((r) => r.json), nextCursor: nextCursorOf(page, rows.length > query.limit) };
  }

  /** Another connection (another daemon, sqlite3 in a shell) committed: any cached row may have changed. */
  private forgetForeignWrites(): void {
    const version = this.source.dataVersion.get() as number;
    if (version !== this.version) this.cache.clear();
    this.version = version;
  }

  /**
   * The summaries of `rowids`, the few the cache lacks read by rowid; null when it lacks most of
   * them (reading the whole page with its own query costs less than looking up each rowid).
   */
  private cachedSummaries(rowids: readonly number[]): CachedSummary[] | null {
    const found = rowids.map((rowid) => this.cache.get(rowid));
    const missing = rowids.filter((_, i) => found[i] === undefined);
    if (missing.length === 0) return found as CachedSummary[];
    if (missing.length * 2 > rowids.length) return null;
    const rows = this.source.summariesByRowid.all(JSON.stringify(missing)) as SummaryRow[];
    this.cacheFinished(rows);
    const fetched = new Map(rows.map((row) => [row.rowid, row]));
    return rowids.flatMap((rowid, i) => found[i] ?? fetched.get(rowid) ?? []);
  }

  /** Keeps a page read from the table; while in that mode, notes whether the cache had it. */
  private keep(rows: readonly SummaryRow[]): void {
    this.forgetForeignWrites();
    if (this.usefulness < 0.5 && rows.length > 0) {
      const cached = rows.filter((row) => this.cache.get(row.rowid) !== undefined).length;
      this.noteUseful(cached * 2 >= rows.length);
    }
    this.cacheFinished(rows);
  }

  /** A running run's row changes when it finishes; a finished one's never does. */
  private cacheFinished(rows: readonly SummaryRow[]): void {
    for (const { rowid, id, final, json } of rows) if (final === 1) this.cache.put(rowid, { id, json });
  }

  private noteUseful(useful: boolean): void {
    this.usefulness += USEFULNESS_WEIGHT * ((useful ? 1 : 0) - this.usefulness);
  }
}

/** The body of a run list answer: the page's summaries (JSON already) in the API's envelope. */
export function runListJson(page: RunJsonPage): string {
  return `{"runs":[${page.runsJson.join(',')}],"next_cursor":${JSON.stringify(page.nextCursor)}}`;
}

export function nextCursorOf(page: readonly { id: string }[], more: boolean): string | null {
  return more && page.length > 0 ? encodeCursor(page[page.length - 1]!.id) : null;
}
