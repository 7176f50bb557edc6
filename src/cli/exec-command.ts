/**
 * `distcron exec --role R [--all|--any] [--node N] [--timeout 30s] [--run-as U] -- cmd args`:
 * an ad-hoc command through `POST /api/v1/exec` (admin token). It waits until every run is final,
 * then prints each host's output with every line prefixed `NODE | ` (stdout to stdout, stderr to
 * stderr), one `NODE | status` line on stderr for each host that did not succeed, and exits 0 when
 * every host succeeded, 1 otherwise (2 for a usage error, as the rest of the CLI).
 * Output is printed once the runs end: following it live is not available yet.
 */
import type { RunRecord } from '../core/types.js';
import { clientFailure, CLIENT_DEFAULTS, waitUntilFinal, type LineWriter } from './client.js';
import { apiCall, type ApiTarget } from './client-http.js';
import { parsePairs } from './run-flags.js';
import { humanDuration } from './table.js';

export interface ExecOptions extends ApiTarget {
  roles?: string[];
  labels?: Record<string, string>;
  nodes?: string[];
  /** Default `all`: every selected node (like Ansible's ad-hoc mode); `any`: one of them. */
  select?: 'all' | 'any';
  timeout?: string;
  runAs?: string;
  /** The words joined with spaces run as a shell command line (`/bin/sh -c`). */
  shell?: boolean;
  words: string[];
  json?: boolean;
  out?: LineWriter;
  err?: LineWriter;
  pollMs?: number;
  pollMaxMs?: number;
}

/** A mistake on the command line: main turns it into exit code 2. */
export class UsageError extends Error {}

/** The exec request body for the flags; throws UsageError. Pure. */
export function execBody(o: Omit<ExecOptions, 'api'>): Record<string, unknown> {
  if (o.words.length === 0 || o.words[0] === '')
    throw new UsageError('distcron exec: give the command after --, e.g. distcron exec --role web -- uptime');
  const hasRoles = (o.roles?.length ?? 0) > 0 || Object.keys(o.labels ?? {}).length > 0;
  const hasNodes = (o.nodes?.length ?? 0) > 0;
  if (!hasRoles && !hasNodes)
    throw new UsageError('distcron exec: choose nodes with --role R, --label K=V or --node N');
  if (hasRoles && hasNodes)
    throw new UsageError('distcron exec: give either --node or --role/--label, not both');
  const policy: Record<string, unknown> = { select: o.select ?? 'all' };
  if (hasNodes) policy.hosts = [...new Set(o.nodes)];
  if (o.roles?.length) policy.roles = [...new Set(o.roles)];
  if (o.labels && Object.keys(o.labels).length > 0) policy.labels = o.labels;
  const body: Record<string, unknown> = { policy };
  if (o.shell) body.shell_command = o.words.join(' ');
  else body.command = o.words;
  if (o.timeout !== undefined) body.timeout = o.timeout;
  if (o.runAs !== undefined) body.run_as = o.runAs;
  return body;
}

/** Commander collector for `--role a --role b` and `--role a,b`. */
export function collectRoles(value: string, previous: string[] = []): string[] {
  const roles = value.split(',').map((r) => r.trim());
  if (roles.some((r) => r === ''))
    throw new UsageError(`distcron: --role expects role names (a,b or repeated --role), got "${value}"`);
  return [...previous, ...roles];
}

/** `--label K=V` pairs, or a UsageError. */
export function labelsOf(pairs: string[] | undefined): Record<string, string> | undefined {
  try {
    return parsePairs('--label', pairs);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** `text` as lines each prefixed `NODE | ` (a final newline ends the last line, it adds none). */
export function prefixed(node: string, text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line) => `${node} | ${line}`);
}

function statusLine(run: RunRecord): string {
  const code =
    run.exit_code !== null ? ` (exit ${run.exit_code})` : run.signal ? ` (signal ${run.signal})` : '';
  const why = run.error ? `: ${run.error}` : '';
  const cut = run.output_truncated ? ' [output truncated]' : '';
  return `${run.status}${code} in ${humanDuration(run.duration_ms)}${why}${cut}`;
}

const nodeOf = (run: RunRecord) => run.node ?? '-';

/** Prints the runs (by node name) and returns the exit code: 0 when every run succeeded. */
export function printExec(runs: RunRecord[], out: LineWriter, err: LineWriter): number {
  const sorted = [...runs].sort((a, b) => nodeOf(a).localeCompare(nodeOf(b)));
  for (const run of sorted) {
    for (const line of prefixed(nodeOf(run), run.stdout)) out(line);
    for (const line of prefixed(nodeOf(run), run.stderr)) err(line);
  }
  const failed = sorted.filter((r) => r.status !== 'succeeded');
  for (const run of failed) err(`${nodeOf(run)} | ${statusLine(run)}`);
  if (failed.length > 0) err(`distcron exec: ${failed.length} of ${runs.length} hosts failed`);
  return failed.length > 0 ? 1 : 0;
}

export async function runExec(options: ExecOptions): Promise<number> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = options.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const body = execBody(options);
  try {
    const started = await apiCall<{ execution_id: string; run_ids: string[] }>(
      options,
      'POST',
      '/api/v1/exec',
      body,
    );
    const poll = options.pollMs ?? CLIENT_DEFAULTS.pollMs;
    const pollMax = options.pollMaxMs ?? CLIENT_DEFAULTS.pollMaxMs;
    const runs = await Promise.all(started.run_ids.map((id) => waitUntilFinal(options, id, poll, pollMax)));
    if (options.json) {
      out(JSON.stringify({ execution_id: started.execution_id, runs }));
      return runs.every((r) => r.status === 'succeeded') ? 0 : 1;
    }
    return printExec(runs, out, err);
  } catch (e) {
    return clientFailure(e, options, err);
  }
}
