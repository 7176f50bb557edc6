/** `distcron validate`: every config problem as `file:line:column: message`; exit 1 on any error. */
import type { ConfigProblem } from '../core/types.js';
import { loadConfig } from '../config/index.js';

export interface ValidateOptions {
  jobsDir: string;
  nodesDir: string;
  resourcesDir?: string;
  defaultTimezone: string;
  /** One JSON document instead of lines, for scripts. */
  json?: boolean;
  out: (line: string) => void;
}

export async function runValidate(opts: ValidateOptions): Promise<number> {
  const snapshot = await loadConfig(opts);
  const problems = [...snapshot.problems].sort(byPlace);
  const errors = problems.filter((p) => p.severity === 'error').length;
  const warnings = problems.length - errors;
  const counts = { jobs: snapshot.jobs.size, nodes: snapshot.nodes.size, errors, warnings };
  if (opts.json) opts.out(JSON.stringify({ ok: errors === 0, ...counts, problems }));
  else {
    for (const problem of problems) opts.out(formatProblem(problem));
    opts.out(summary(counts));
  }
  return errors > 0 ? 1 : 0;
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`;
}

function summary(c: { jobs: number; nodes: number; errors: number; warnings: number }): string {
  const defs = `${plural(c.jobs, 'job')}, ${plural(c.nodes, 'node')}`;
  const warn = c.warnings > 0 ? `, ${plural(c.warnings, 'warning')}` : '';
  return c.errors === 0
    ? `ok: ${defs}${warn}`
    : `failed: ${plural(c.errors, 'error')}${warn} (${defs} loaded)`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function byPlace(a: ConfigProblem, b: ConfigProblem): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column;
}
