/**
 * A job file's text → JobDef (SPEC §4), with every problem located. Pure, except that a
 * `"script"` file the job names is read (relative to the job file's directory).
 */
import type { CommandSpec, ConfigProblem, JobDef } from '../core/types.js';
import {
  objectFields,
  readBoolean,
  readDuration,
  readEnum,
  readInteger,
  readString,
  readStringArray,
  readStringMap,
  wrongType,
  checkDocument,
  type ProblemSink,
  type Fields,
  type Located,
} from './checks.js';
import { MAX_RETRY_DELAY_MS } from '../core/duration.js';
import { configNameOf } from './names.js';
import { ENV_NAME, parseNotify, parseOwners } from './parse-notify.js';
import { parseParameters } from './parse-params.js';
import { parsePolicy } from './parse-policy.js';
import { parseSchedule, type ScheduleOptions } from './parse-schedule.js';
import {
  NO_ENVIRONMENT,
  NO_LABELS,
  NO_PARAMETERS,
  NO_NOTIFY,
  NO_RETRIES,
  NO_STRINGS,
  noItems,
} from './shared-defaults.js';
import type { ReadFacts } from './read-facts.js';
import { parseScript, withRunAs } from './parse-script.js';
import { applyResourceFields } from './parse-resources.js';
import { parseAfter } from './parse-after.js';

export interface JobParseOptions {
  defaultTimezone: string;
}

const JOB_FIELDS = [
  'name',
  'description',
  'owners',
  'policy',
  'schedule',
  'command',
  'shell_command',
  'script',
  'script_inline',
  'interpreter',
  'args',
  'script_delivery',
  'run_as',
  'environment',
  'parameters',
  'working_directory',
  'timeout',
  'retries',
  'overlap',
  'catch_up',
  'rerun_lost',
  'notify',
  'tags',
  'enabled',
  'resources',
  'resource_wait',
  'after',
  'window',
];
const JOB_HINTS: Record<string, string> = {
  env: 'write it as "environment"',
  cwd: 'write it as "working_directory"',
  hosts: 'it belongs inside "policy": {"hosts": [...]}',
  roles: 'it belongs inside "policy": {"roles": [...]}',
  select: 'it belongs inside "policy": {"select": "any"}',
  timezone: 'it belongs inside "schedule": {"cron": "...", "timezone": "..."}',
};
const MAX_RETRIES = 100;

/** `facts`: what the reader thread found out about `text` (see read-ahead.ts). */
export function parseJobText(
  file: string,
  text: string,
  opts: JobParseOptions,
  facts?: ReadFacts,
): { job?: JobDef; problems: ConfigProblem[] } {
  const name = configNameOf(file);
  const scheduleOpts = {
    jobName: name,
    defaultTimezone: opts.defaultTimezone,
    nameDigest: facts?.nameDigest,
  };
  const { def, problems } = checkDocument(
    file,
    text,
    (sink, root) => jobFromTree(sink, root, name, file, scheduleOpts),
    facts,
  );
  return def ? { job: def, problems } : { problems };
}

function jobFromTree(
  sink: ProblemSink,
  root: Located,
  name: string,
  file: string,
  scheduleOpts: ScheduleOptions,
): JobDef | undefined {
  if (root.node.type !== 'object') return wrongType(sink, root, 'a JSON object (a job definition)');
  const fields = objectFields(sink, root, JOB_FIELDS, JOB_HINTS);
  if (!fields) return undefined;
  checkNameField(sink, fields.get('name'), name);
  const owners = parseOwners(sink, fields.get('owners'));
  const job: JobDef = {
    name,
    file,
    owners: owners ?? noItems(),
    policy: parsePolicy(sink, fields.get('policy'), root) ?? {
      select: 'any',
      rolesMatch: 'any',
      labels: NO_LABELS,
      placement: 'least_loaded',
    },
    schedule: parseSchedule(sink, fields.get('schedule'), scheduleOpts) ?? { kind: 'manual' },
    command: withRunAs(sink, fields, parseCommand(sink, root, fields, file)) ?? { kind: 'shell', script: '' },
    environment: ifGiven(fields.get('environment'), sink, readEnvironment) ?? NO_ENVIRONMENT,
    parameters: ifGiven(fields.get('parameters'), sink, parseParameters) ?? NO_PARAMETERS,
    retries: ifGiven(fields.get('retries'), sink, parseRetries) ?? NO_RETRIES,
    overlap: ifGiven(fields.get('overlap'), sink, readOverlap) ?? 'skip',
    catchUp: ifGiven(fields.get('catch_up'), sink, readCatchUp) ?? 'latest',
    notify: parseNotify(sink, fields.get('notify'), (owners?.length ?? 0) > 0) ?? NO_NOTIFY,
    tags: ifGiven(fields.get('tags'), sink, readStringArray) ?? NO_STRINGS,
    enabled: ifGiven(fields.get('enabled'), sink, readBoolean) ?? true,
  };
  const description = ifGiven(fields.get('description'), sink, readString);
  if (description !== undefined) job.description = description;
  const workingDirectory = ifGiven(fields.get('working_directory'), sink, readNonEmpty);
  if (workingDirectory !== undefined) job.workingDirectory = workingDirectory;
  const timeoutMs = ifGiven(fields.get('timeout'), sink, readDuration);
  if (timeoutMs !== undefined) job.timeoutMs = timeoutMs;
  const after = parseAfter(sink, fields);
  if (after) job.after = after;
  // Set only when true: the command of a lost run may still be running on its host.
  if (ifGiven(fields.get('rerun_lost'), sink, readBoolean) === true) job.rerunLost = true;
  checkScheduledParameters(sink, fields.get('parameters'), job);
  applyResourceFields(sink, fields, job);
  return job;
}

/** `read` of a field the file gives (module-level readers: no closure per job at 100,000 files). */
function ifGiven<T>(
  field: Located | undefined,
  sink: ProblemSink,
  read: (sink: ProblemSink, field: Located) => T | undefined,
): T | undefined {
  return field ? read(sink, field) : undefined;
}

const OVERLAP = ['skip', 'queue', 'allow'] as const;
const CATCH_UP = ['skip', 'latest', 'all'] as const;
const readOverlap = (sink: ProblemSink, f: Located) => readEnum(sink, f, OVERLAP);
const readCatchUp = (sink: ProblemSink, f: Located) => readEnum(sink, f, CATCH_UP);
const readNonEmpty = (sink: ProblemSink, f: Located) => readString(sink, f, { nonEmpty: true });
const readEnvironment = (sink: ProblemSink, f: Located) => readStringMap(sink, f, envKeyCheck(sink));

/** A scheduled or dependency run has nobody to give a value: every required parameter needs a default. */
function checkScheduledParameters(sink: ProblemSink, at: Located | undefined, job: JobDef): void {
  if (!at || (job.schedule.kind === 'manual' && !job.after)) return;
  for (const [name, spec] of Object.entries(job.parameters)) {
    if (spec.required && spec.default === undefined)
      sink.error(
        at,
        `parameter ${name} is required and has no "default", but the job runs on a schedule, where nobody gives a value; add a "default" or make the job "schedule": "@manual"`,
      );
  }
}

/** distcrond files may carry their own "name"; the file name is what counts. */
function checkNameField(sink: ProblemSink, field: Located | undefined, name: string): void {
  if (!field) return;
  const value = readString(sink, field);
  if (value !== undefined && value !== name)
    sink.warn(field, `"name" "${value}" is ignored; the name comes from the file name ("${name}")`);
}

const COMMAND_FIELDS = ['command', 'shell_command', 'script', 'script_inline'] as const;
const SCRIPT_ONLY_FIELDS = ['interpreter', 'args', 'script_delivery'] as const;

function parseCommand(
  sink: ProblemSink,
  root: Located,
  fields: Fields,
  file: string,
): CommandSpec | undefined {
  const given = COMMAND_FIELDS.filter((f) => fields.has(f));
  if (given.length > 1)
    return sink.errorAtKey(
      fields.get(given[1]!)!,
      `give exactly one of "command" (argv array), "shell_command" (string), "script" (file) or "script_inline" (text), not ${given.map((g) => `"${g}"`).join(' and ')}`,
    );
  if (given[0] === 'script' || given[0] === 'script_inline') return parseScript(sink, fields, file);
  for (const f of SCRIPT_ONLY_FIELDS) {
    const field = fields.has(f) ? fields.get(f) : undefined;
    if (field)
      sink.errorAtKey(
        field,
        `"${f}" applies only to a "script" or "script_inline" job; remove it or use a script`,
      );
  }
  const argvField = fields.get('command');
  const shellField = fields.get('shell_command');
  if (shellField) {
    const script = readString(sink, shellField, { nonEmpty: true });
    return script === undefined ? undefined : { kind: 'shell', script };
  }
  if (!argvField)
    return sink.error(
      root,
      'missing "command" (an argv array like ["/usr/bin/backup", "--all"]), "shell_command" (a string), "script" (a file) or "script_inline" (text)',
    );
  if (argvField.node.type === 'string')
    return wrongType(
      sink,
      argvField,
      'an argv array like ["/bin/echo", "hi"]',
      'use "shell_command" for a shell string',
    );
  // Empty arguments are real arguments (`ssh-keygen -N ""`); only the program must be named.
  const argv = readStringArray(sink, argvField, { emptyItems: true });
  if (argv && argv.length === 0)
    return sink.error(argvField, '"command" must not be empty; give at least the program to run');
  if (argv && argv[0]!.trim() === '')
    return sink.error(
      { node: argvField.node.children?.[0] ?? argvField.node, parent: argvField, segment: 0 },
      '"command[0]" (the program) must not be empty',
    );
  return argv ? { kind: 'argv', argv } : undefined;
}

function envKeyCheck(sink: ProblemSink) {
  return (key: string, field: Located): boolean => {
    if (ENV_NAME.test(key)) return true;
    sink.errorAtKey(
      field,
      `"${key}" is not a valid environment variable name; use letters, digits and "_", not starting with a digit`,
    );
    return false;
  };
}

function parseRetries(sink: ProblemSink, at: Located): JobDef['retries'] | undefined {
  const fields = objectFields(sink, at, ['count', 'delay']);
  if (!fields) return undefined;
  const countField = fields.get('count');
  if (!countField) return sink.error(at, '"retries" needs "count", e.g. {"count": 2, "delay": "1m"}');
  const count = readInteger(sink, countField, 0, MAX_RETRIES);
  const delayField = fields.get('delay');
  const delayMs = delayField ? readDuration(sink, delayField, 0, MAX_RETRY_DELAY_MS) : 0;
  return count === undefined || delayMs === undefined ? undefined : { count, delayMs };
}
