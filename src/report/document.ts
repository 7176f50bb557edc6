import { runFactsJson, type RunFactsJson } from '../core/run-facts.js';
import type { RunRecord } from '../core/types.js';
import type { EsRunPayload } from './outbox.js';

/** Monthly indices `distcron-runs-YYYY.MM` (UTC) match the template pattern `distcron-runs-*`. */
export const INDEX_PREFIX = 'distcron-runs-';

/**
 * Output kept per stream in a report. The store already bounds captured output; this second cap
 * keeps one chatty run from making a bulk request or a Kibana table row huge.
 */
export const MAX_REPORT_OUTPUT_CHARS = 32 * 1024;
const ELISION = '\n[... distcron: output elided in report ...]\n';

/** One run as Elasticsearch stores it (SPEC §9); field names match the index template. */
export interface EsRunDocument extends RunFactsJson {
  '@timestamp': string;
  run_id: string;
  execution_id: string;
  job: string;
  node: string | null;
  host: string | null;
  trigger: string;
  attempt: number;
  status: string;
  exit_code: number | null;
  signal: string | null;
  scheduled_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  lateness_ms: number | null;
  stdout: string;
  stderr: string;
  output_truncated: boolean;
  error: string | null;
  tags: string[];
  description: string | null;
}

/** The report time of a run: its start, else its scheduled instant, else when it finished. */
export function reportTimestamp(run: RunRecord): string {
  const candidates = [run.started_at, run.scheduled_at, run.finished_at];
  for (const candidate of candidates) {
    if (candidate !== null && !Number.isNaN(Date.parse(candidate))) return candidate;
  }
  throw new Error(`report: run ${run.id} has no valid start, scheduled or finish time; it cannot be indexed`);
}

/** `distcron-runs-YYYY.MM` of the run's report timestamp, in UTC. */
export function indexFor(run: RunRecord): string {
  return indexAt(reportTimestamp(run));
}

/** `distcron-runs-YYYY.MM` of a report timestamp (a document's `@timestamp`), in UTC. */
export function indexAt(timestamp: string): string {
  const at = new Date(timestamp);
  const month = String(at.getUTCMonth() + 1).padStart(2, '0');
  return `${INDEX_PREFIX}${at.getUTCFullYear()}.${month}`;
}

export function runToDocument(payload: EsRunPayload): EsRunDocument {
  const { run } = payload;
  const stdout = capOutput(run.stdout);
  const stderr = capOutput(run.stderr);
  return {
    '@timestamp': reportTimestamp(run),
    run_id: run.id,
    execution_id: run.execution_id,
    job: run.job,
    node: run.node,
    host: run.host,
    trigger: run.trigger,
    attempt: run.attempt,
    status: run.status,
    exit_code: run.exit_code,
    signal: run.signal,
    scheduled_at: run.scheduled_at,
    started_at: run.started_at,
    finished_at: run.finished_at,
    duration_ms: run.duration_ms,
    lateness_ms: lateness(run),
    stdout: stdout.text,
    stderr: stderr.text,
    output_truncated: run.output_truncated || stdout.cut || stderr.cut,
    error: run.error,
    tags: payload.tags,
    description: payload.description,
    ...runFactsJson(run),
  };
}

/** Delay between the scheduled instant and the actual start (null when either is missing). */
function lateness(run: RunRecord): number | null {
  if (run.scheduled_at === null || run.started_at === null) return null;
  const ms = Date.parse(run.started_at) - Date.parse(run.scheduled_at);
  return Number.isNaN(ms) ? null : Math.max(0, ms);
}

/** Keeps the head and the tail (the end of a log usually says why a run failed). */
function capOutput(text: string): { text: string; cut: boolean } {
  if (text.length <= MAX_REPORT_OUTPUT_CHARS) return { text, cut: false };
  const half = Math.floor((MAX_REPORT_OUTPUT_CHARS - ELISION.length) / 2);
  return { text: text.slice(0, half) + ELISION + text.slice(text.length - half), cut: true };
}
