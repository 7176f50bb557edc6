import type { ConfigProblem, JobDef, RunRecord, ScheduleSpec } from '../core/types.js';
import { isoUtc } from '../core/types.js';
import type { JobView, NodeView } from '../daemon/control.js';

/**
 * JSON shapes of the API. Field names follow the job files and the `runs` table (snake_case).
 * Secrets (webhook secrets) never leave the daemon: only whether one is set.
 */

export type RunSummaryJson = Omit<RunRecord, 'stdout' | 'stderr'>;

export function runSummaryJson(run: RunRecord): RunSummaryJson {
  const { stdout: _stdout, stderr: _stderr, ...summary } = run;
  return summary;
}

export function runDetailJson(run: RunRecord): RunRecord {
  return { ...run };
}

export interface JobSummaryJson {
  name: string;
  file: string;
  description: string | null;
  tags: string[];
  enabled: boolean;
  enabled_override: boolean | null;
  schedule: string;
  next_fire_times: string[];
  last_run: RunSummaryJson | null;
  running: number;
}

/** The fields that depend only on the definition: the list serializes them once per JobDef. */
function definitionPart(def: JobDef) {
  return { name: def.name, file: def.file, description: def.description ?? null, tags: def.tags };
}

function statePart(view: JobView) {
  return {
    enabled: view.enabled,
    enabled_override: view.enabledOverride,
    schedule: view.schedule,
    next_fire_times: view.nextFireTimes,
    last_run: view.lastRun ? runSummaryJson(view.lastRun) : null,
    running: view.running,
  };
}

export function jobSummaryJson(view: JobView): JobSummaryJson {
  return { ...definitionPart(view.definition), ...statePart(view) };
}

/** The definition part of a summary as JSON members (no braces), once per definition. */
const definitionText = new WeakMap<JobDef, string>();
/** A last run's summary as JSON, once per run record (records handed out are never changed). */
const lastRunText = new WeakMap<RunRecord, string>();
/** The whole summary of a frozen view (a control's list views that did not change). */
const frozenViewText = new WeakMap<JobView, string>();

/** Printable ASCII without `"` and `\`: the JSON of such a string is the string in quotes. */
const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** `JSON.stringify(text)`; schedule descriptions and times need no escaping, which is tested first. */
function jsonString(text: string): string {
  return PLAIN_STRING.test(text) ? `"${text}"` : JSON.stringify(text);
}

function jsonStrings(texts: readonly string[]): string {
  let out = '';
  for (const text of texts) out += out === '' ? jsonString(text) : `,${jsonString(text)}`;
  return `[${out}]`;
}

function runText(run: RunRecord | null): string {
  if (run === null) return 'null';
  let text = lastRunText.get(run);
  if (text === undefined) lastRunText.set(run, (text = JSON.stringify(runSummaryJson(run))));
  return text;
}

/**
 * `JSON.stringify(jobSummaryJson(view))`, written member by member (same order): a page of the
 * job list is 50 of these, and one JSON.stringify call per small object cost ~2 µs. The
 * definition's part is serialized once per definition, a last run once per run record, and a
 * frozen view (it cannot change) once.
 */
export function jobSummaryText(view: JobView): string {
  let text = frozenViewText.get(view);
  if (text === undefined) {
    text = summaryText(view);
    if (Object.isFrozen(view) && Object.isFrozen(view.nextFireTimes)) frozenViewText.set(view, text);
  }
  return text;
}

function summaryText(view: JobView): string {
  let head = definitionText.get(view.definition);
  if (head === undefined) {
    head = JSON.stringify(definitionPart(view.definition)).slice(1, -1);
    definitionText.set(view.definition, head);
  }
  // join(), unlike +, gives one flat string: a page joins 50 of them without walking 50 trees.
  return [
    `{${head},"enabled":${view.enabled},"enabled_override":${view.enabledOverride},`,
    `"schedule":${jsonString(view.schedule)},"next_fire_times":${jsonStrings(view.nextFireTimes)},`,
    `"last_run":${runText(view.lastRun)},"running":${JSON.stringify(view.running)}}`,
  ].join('');
}

export function jobDetailJson(view: JobView) {
  return { ...jobSummaryJson(view), definition: jobDefinitionJson(view.definition) };
}

export function jobDefinitionJson(def: JobDef) {
  return {
    description: def.description ?? null,
    owners: def.owners.map((o) => ({ name: o.name ?? null, email_address: o.email })),
    policy: policyJson(def.policy),
    schedule: scheduleJson(def.schedule),
    command: def.command.kind === 'argv' ? def.command.argv : null,
    shell_command: def.command.kind === 'shell' ? def.command.script : null,
    environment: def.environment,
    parameters: parametersJson(def.parameters),
    working_directory: def.workingDirectory ?? null,
    timeout_ms: def.timeoutMs ?? null,
    retries: { count: def.retries.count, delay_ms: def.retries.delayMs },
    overlap: def.overlap,
    catch_up: def.catchUp,
    notify: notifyJson(def.notify),
    tags: def.tags,
    enabled: def.enabled,
  };
}

function parametersJson(parameters: JobDef['parameters']) {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, p] of Object.entries(parameters)) {
    out[name] = { type: p.type, required: p.required };
    if (p.enum) out[name].enum = p.enum;
    if (p.pattern !== undefined) out[name].pattern = p.pattern;
    if (p.maxLength !== undefined) out[name].max_length = p.maxLength;
    if (p.default !== undefined) out[name].default = p.default;
    if (p.description !== undefined) out[name].description = p.description;
  }
  return out;
}

function policyJson(policy: JobDef['policy']) {
  return {
    select: policy.select,
    hosts: policy.hosts ?? null,
    roles: policy.roles ?? null,
    roles_match: policy.rolesMatch,
    labels: policy.labels,
    placement: policy.placement,
    max_parallel: policy.maxParallel ?? null,
  };
}

function notifyJson(notify: JobDef['notify']) {
  return {
    on: notify.on,
    email: notify.email,
    webhooks: notify.webhooks.map((w) => ({
      url: w.url,
      on: w.on ?? null,
      format: w.format,
      has_secret: Boolean(w.secret ?? w.secretEnv),
    })),
    remind_every_ms: notify.remindEveryMs ?? null,
  };
}

export function scheduleJson(spec: ScheduleSpec): Record<string, unknown> {
  switch (spec.kind) {
    case 'manual':
      return { kind: 'manual' };
    case 'cron':
      return { kind: 'cron', expression: spec.expression, timezone: spec.timezone ?? null };
    case 'every':
      return { kind: 'every', interval_ms: spec.intervalMs };
    case 'interval':
      return {
        kind: 'interval',
        interval_ms: spec.intervalMs,
        reference: spec.reference,
        timezone: spec.timezone ?? null,
      };
    case 'fuzzy':
      return {
        kind: 'fuzzy',
        period: typeof spec.period === 'string' ? spec.period : { every_ms: spec.period.everyMs },
        window: spec.window ?? null,
        timezone: spec.timezone ?? null,
      };
    case 'at':
      return { kind: 'at', at: isoUtc(spec.at) };
  }
}

export function nodeJson(view: NodeView) {
  return {
    name: view.name,
    file: view.file,
    description: view.description ?? null,
    roles: view.roles,
    labels: view.labels,
    connection_type: view.connectionType,
    address: view.address,
    user: view.user,
    disabled: view.disabled,
    status: view.health.up ? 'up' : 'down',
    max_concurrent_runs: view.maxConcurrentRuns,
    runs_in_flight: view.runsInFlight,
    health: {
      up: view.health.up,
      last_error: view.health.lastError,
      last_checked_at: view.health.lastCheckedAt,
      next_probe_at: view.health.nextProbeAt,
    },
  };
}

export function configProblemJson(p: ConfigProblem) {
  return {
    file: p.file,
    line: p.line,
    column: p.column,
    path: p.path,
    message: p.message,
    severity: p.severity,
  };
}
