/**
 * The body of an ad-hoc command (`POST /api/v1/exec`, SPEC §17) → what to run where. Its fields
 * mean exactly what they mean in a job file, so they go through the job file's own parsers
 * (policy, command / shell_command, run_as, timeout, working_directory, environment): same
 * rules, same messages. Pure: no file is read (`script` is not accepted here).
 */
import type { CommandSpec, ConfigProblem, JobPolicy } from '../core/types.js';
import { parseJobText } from './parse-job.js';

/** Every field an exec body may carry. */
export const ADHOC_FIELDS = [
  'policy',
  'command',
  'shell_command',
  'run_as',
  'timeout',
  'working_directory',
  'environment',
] as const;

export interface AdhocSpec {
  policy: JobPolicy;
  /** With `runAs` when `run_as` was given. */
  command: CommandSpec;
  environment: Record<string, string>;
  workingDirectory?: string;
  timeoutMs?: number;
}

export interface AdhocParse {
  spec?: AdhocSpec;
  /** Errors only (a warning such as "placement is ignored for all" does not stop a command). */
  problems: ConfigProblem[];
}

/** Problems are located in this pseudo file; `path` (`$.policy.roles`) names the field. */
export const ADHOC_SOURCE = 'exec request';

/** `body` is an object whose keys are all ADHOC_FIELDS (the API refuses other keys first). */
export function parseAdhocBody(body: Record<string, unknown>): AdhocParse {
  if (body.command === undefined && body.shell_command === undefined)
    return {
      problems: [
        problem(
          '$',
          'missing "command" (an argv array like ["uptime"]) or "shell_command" (a string run by /bin/sh -c)',
        ),
      ],
    };
  const picked: Record<string, unknown> = {};
  for (const field of ADHOC_FIELDS) if (body[field] !== undefined) picked[field] = body[field];
  const text = JSON.stringify(picked, null, 2);
  const parsed = parseJobText(`${ADHOC_SOURCE}/exec.json`, text, { defaultTimezone: 'UTC' });
  const problems = parsed.problems
    .filter((p) => p.severity === 'error')
    .map((p) => ({ ...p, file: ADHOC_SOURCE }));
  const job = parsed.job;
  if (!job || problems.length > 0) return { problems };
  const spec: AdhocSpec = { policy: job.policy, command: job.command, environment: job.environment };
  if (job.workingDirectory !== undefined) spec.workingDirectory = job.workingDirectory;
  if (job.timeoutMs !== undefined) spec.timeoutMs = job.timeoutMs;
  return { spec, problems: [] };
}

/** `$.policy.roles[0]` → `policy.roles[0]` (the body field a problem is about). */
export function fieldOf(path: string): string {
  return path === '$' ? '' : path.replace(/^\$\.?/, '');
}

function problem(path: string, message: string): ConfigProblem {
  return { file: ADHOC_SOURCE, line: 1, column: 1, path, message, severity: 'error' };
}
