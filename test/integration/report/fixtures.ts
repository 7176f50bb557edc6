/** Runs, stores and Elasticsearch read-backs shared by the report suites. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId } from '../../../src/core/ids.js';
import type { JobDef, RunRecord } from '../../../src/core/types.js';
import { esOutboxEntry } from '../../../src/report/outbox.js';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite.js';
import { sharedEsServer, type EsTestServer } from '../../harness/elasticsearch.js';
import { skipSuite } from '../../harness/skip.js';

/** A finished run started `offsetMs` after the start of `month` (e.g. '2031-01'), with 1 KB of stdout by default. */
export function reportRun(month: string, offsetMs: number, overrides: Partial<RunRecord> = {}): RunRecord {
  const started = Date.parse(`${month}-01T00:00:00.000Z`) + offsetMs;
  const id = newId();
  return {
    id,
    execution_id: id,
    job: `job-${offsetMs % 7}`,
    node: `node-${offsetMs % 3}`,
    host: `10.0.0.${offsetMs % 3}`,
    trigger: 'schedule',
    attempt: 1,
    scheduled_at: new Date(started - 15).toISOString(),
    started_at: new Date(started).toISOString(),
    finished_at: new Date(started + 1200).toISOString(),
    duration_ms: 1200,
    status: offsetMs % 10 === 0 ? 'failed' : 'succeeded',
    exit_code: offsetMs % 10 === 0 ? 1 : 0,
    signal: null,
    stdout: 'x'.repeat(1023) + '\n',
    stderr: '',
    output_truncated: false,
    error: null,
    ...overrides,
  };
}

/** Only the job facts a report carries. */
const REPORT_JOB = { tags: ['nightly', 'db'], description: 'report test job' } as Partial<JobDef> as JobDef;

export interface TempStore {
  store: SqliteStore;
  path: string;
  dispose(): void;
}

/** A real SQLite file in a fresh temp directory. */
export function tempStore(): TempStore {
  const dir = mkdtempSync(join(tmpdir(), 'distcron-report-'));
  const path = join(dir, 'distcron.db');
  const store = openSqliteStore({ path });
  return {
    store,
    path,
    dispose: () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Queues runs the way the daemon does when it finishes them (in chunks of 1000 per transaction). */
export function enqueueRuns(store: SqliteStore, runs: RunRecord[]): void {
  for (let i = 0; i < runs.length; i += 1000) {
    store.enqueueOutbox(runs.slice(i, i + 1000).map((run) => esOutboxEntry(run, REPORT_JOB)));
  }
}

export async function esJson<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, {
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  const body = (await res.json()) as T;
  if (!res.ok) throw new Error(`ES ${init.method ?? 'GET'} ${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Every `_id` in the indices matching `index` (refreshes first; at most 10,000). */
export async function idsIn(esUrl: string, index: string): Promise<string[]> {
  await esJson(`${esUrl}/${index}/_refresh`, { method: 'POST' });
  const res = await esJson<{ hits: { hits: { _id: string }[] } }>(`${esUrl}/${index}/_search`, {
    method: 'POST',
    body: JSON.stringify({ size: 10000, _source: false, query: { match_all: {} }, track_total_hits: true }),
  });
  return res.hits.hits.map((h) => h._id);
}

export async function countIn(esUrl: string, index: string): Promise<number> {
  await esJson(`${esUrl}/${index}/_refresh`, { method: 'POST' });
  const res = await esJson<{ count: number }>(`${esUrl}/${index}/_count`);
  return res.count;
}

/** Polls until `check` is true or `timeoutMs` passes; returns the last result. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  stepMs = 200,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}

/** The shared server of `version`, or a loud skip (a failure under CI=true) when it cannot be had. */
export async function esOrSkip(ctx: Mocha.Context, suite: string, version?: string): Promise<EsTestServer> {
  try {
    return await sharedEsServer(version);
  } catch (err) {
    return skipSuite(ctx, suite, (err as Error).message.split('\n')[0] ?? 'unknown');
  }
}
