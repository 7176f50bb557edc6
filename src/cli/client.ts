import { setTimeout as sleep } from 'node:timers/promises';
import type { RunRecord, RunStatus } from '../core/types.js';
import { apiCall, ClientError, type ApiTarget } from './client-http.js';
import { formatTable, humanDuration, shortTime } from './table.js';

export { ClientError, type ApiTarget } from './client-http.js';

/** Writes one line (the newline is added by the writer). */
export type LineWriter = (line: string) => void;

const stdoutLine: LineWriter = (line) => process.stdout.write(`${line}\n`);
const stderrLine: LineWriter = (line) => process.stderr.write(`${line}\n`);

export const CLIENT_DEFAULTS = { pollMs: 100, pollMaxMs: 1000, runsLimit: 50 } as const;

export interface RunRemoteOptions extends ApiTarget {
  job: string;
  /** Run on exactly these nodes; default: the job's policy. */
  nodes?: string[];
  /** Values for the job's declared parameters. */
  parameters?: Record<string, string>;
  json?: boolean;
  /** Print the output as it comes (SSE), then each run's summary. */
  follow?: boolean;
  out?: LineWriter;
  err?: LineWriter;
  /** First poll delay; it grows ×1.5 up to pollMaxMs. */
  pollMs?: number;
  pollMaxMs?: number;
}

interface RunStarted {
  job: string;
  execution_id: string;
  run_ids: string[];
}

/**
 * The exit code `distcron run` ends with: the command's own code when it has one, 124 for a
 * timeout (like timeout(1)), 130 when cancelled, 1 for any other failure.
 */
export function runExitCode(run: Pick<RunRecord, 'status' | 'exit_code'>): number {
  if (run.status === 'succeeded') return 0;
  if (run.exit_code !== null && run.exit_code !== 0) return run.exit_code;
  const byStatus: Partial<Record<RunStatus, number>> = { timed_out: 124, cancelled: 130 };
  return byStatus[run.status] ?? 1;
}

/** Polls GET /runs/:id until the run is final (delay ×1.5 per poll up to pollMaxMs). */
export async function waitUntilFinal(
  target: ApiTarget,
  id: string,
  pollMs: number,
  pollMaxMs: number,
): Promise<RunRecord> {
  let delay = pollMs;
  for (;;) {
    const run = await apiCall<RunRecord>(target, 'GET', `/api/v1/runs/${encodeURIComponent(id)}`);
    if (run.status !== 'running') return run;
    await sleep(delay, undefined, { signal: target.signal });
    delay = Math.min(pollMaxMs, Math.ceil(delay * 1.5));
  }
}

function writeText(write: LineWriter, text: string): void {
  if (text !== '') write(text.endsWith('\n') ? text.slice(0, -1) : text);
}

function summary(run: RunRecord): string {
  const code =
    run.exit_code !== null ? ` (exit ${run.exit_code})` : run.signal ? ` (signal ${run.signal})` : '';
  const where = run.node ? ` on ${run.node}` : '';
  const why = run.error ? `: ${run.error}` : '';
  const cut = run.output_truncated ? ' [output truncated]' : '';
  return `${run.job}: ${run.status}${where}${code} in ${humanDuration(run.duration_ms)}${why}${cut}`;
}

function printRuns(runs: RunRecord[], out: LineWriter, err: LineWriter): void {
  for (const run of runs) {
    if (runs.length > 1) out(`==> ${run.node ?? '(no node)'} <==`);
    writeText(out, run.stdout);
    writeText(err, run.stderr);
    err(summary(run));
  }
}

/**
 * `distcron run JOB [--node N]... [--param K=V]...`: starts a manual run through the API, waits until every run of
 * the execution is final, prints the output, and returns the exit code (first failing run's).
 */
export async function runRemote(options: RunRemoteOptions): Promise<number> {
  const out = options.out ?? stdoutLine;
  const err = options.err ?? stderrLine;
  const body: Record<string, unknown> = {};
  if (options.nodes !== undefined) body.nodes = options.nodes;
  if (options.parameters !== undefined) body.parameters = options.parameters;
  try {
    const path = `/api/v1/jobs/${encodeURIComponent(options.job)}/run`;
    const started = await apiCall<RunStarted>(options, 'POST', path, body);
    if (options.follow && !options.json) {
      const { followRuns } = await import('./follow.js');
      const followed = await followRuns(options, started.run_ids, out, err, options.pollMs);
      for (const run of followed) err(summary(run));
      return followed.map(runExitCode).find((code) => code !== 0) ?? 0;
    }
    const runs: RunRecord[] = [];
    for (const id of started.run_ids)
      runs.push(
        await waitUntilFinal(
          options,
          id,
          options.pollMs ?? CLIENT_DEFAULTS.pollMs,
          options.pollMaxMs ?? CLIENT_DEFAULTS.pollMaxMs,
        ),
      );
    if (options.json) out(JSON.stringify({ job: started.job, execution_id: started.execution_id, runs }));
    else printRuns(runs, out, err);
    return runs.map(runExitCode).find((code) => code !== 0) ?? 0;
  } catch (e) {
    return clientFailure(e, options, err);
  }
}

export function clientFailure(e: unknown, target: ApiTarget, err: LineWriter): number {
  if (target.signal?.aborted) {
    err('client: stopped waiting; the run goes on in the daemon (see distcron runs)');
    return 130;
  }
  if (e instanceof ClientError) {
    err(e.message);
    return 1;
  }
  throw e;
}

export interface ListRunsOptions extends ApiTarget {
  job?: string;
  node?: string;
  status?: string;
  trigger?: string;
  limit?: number;
  json?: boolean;
  out?: LineWriter;
  err?: LineWriter;
}

type RunSummary = Omit<RunRecord, 'stdout' | 'stderr'>;

function runsTable(runs: RunSummary[]): string[] {
  const rows = runs.map((r) => [
    r.id,
    r.job,
    r.node ?? '-',
    r.status,
    r.exit_code === null ? '-' : String(r.exit_code),
    r.trigger,
    shortTime(r.started_at ?? r.scheduled_at),
    humanDuration(r.duration_ms),
  ]);
  return formatTable(['ID', 'JOB', 'NODE', 'STATUS', 'EXIT', 'TRIGGER', 'STARTED', 'DURATION'], rows);
}

/** `distcron runs [--job J] [--status S]`: the newest runs as a table, or JSON with --json. */
export async function listRuns(options: ListRunsOptions): Promise<number> {
  const out = options.out ?? stdoutLine;
  const err = options.err ?? stderrLine;
  const query = new URLSearchParams({ limit: String(options.limit ?? CLIENT_DEFAULTS.runsLimit) });
  for (const key of ['job', 'node', 'status', 'trigger'] as const) {
    const value = options[key];
    if (value !== undefined) query.set(key, value);
  }
  try {
    const page = await apiCall<{ runs: RunSummary[]; next_cursor: string | null }>(
      options,
      'GET',
      `/api/v1/runs?${query.toString()}`,
    );
    if (options.json) out(JSON.stringify(page.runs));
    else if (page.runs.length === 0) out('no runs');
    else runsTable(page.runs).forEach((line) => out(line));
    return 0;
  } catch (e) {
    return clientFailure(e, options, err);
  }
}
