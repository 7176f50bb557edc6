import type { ConfigProblem, JobDef, RunRecord, ScheduleSpec } from '../core/types.js';
import { isoUtc } from '../core/types.js';
import { runFactsJson, type RunFactsJson } from '../core/run-facts.js';
import type { JobView, NodeView } from '../daemon/control.js';
import { PER_NODE_SUFFIX } from '../config/parse-resources.js';
import type { DependencyView } from '../daemon/dependency-view.js';

/**
 * JSON shapes of the API. Field names follow the job files and the `runs` table (snake_case).
 * Secrets (webhook secrets) never leave the daemon: only whether one is set.
 */

type RunFactFields = 'parameters' | 'requestedBy' | 'parentRuns' | 'scriptSha256' | 'member';

/** A run under the `runs` table's column names (the record names its later columns in camelCase). */
export type RunDetailJson = Omit<RunRecord, RunFactFields> & RunFactsJson;

export type RunSummaryJson = Omit<RunDetailJson, 'stdout' | 'stderr'>;

/**
 * Written out field by field: rest/spread copies of the whole record made each row several times
 * dearer (the five facts are one small object, shared with the Elasticsearch document).
 */
export function runSummaryJson(run: RunRecord): RunSummaryJson {
  return {
    id: run.id,
    execution_id: run.execution_id,
    job: run.job,
    node: run.node,
    host: run.host,
    trigger: run.trigger,
    attempt: run.attempt,
    scheduled_at: run.scheduled_at,
    started_at: run.started_at,
    finished_at: run.finished_at,
    duration_ms: run.duration_ms,
    status: run.status,
    exit_code: run.exit_code,
    signal: run.signal,
    output_truncated: run.output_truncated,
    error: run.error,
    ...runFactsJson(run),
  };
}

export function runDetailJson(run: RunRecord): RunDetailJson {
  return { ...runSummaryJson(run), stdout: run.stdout, stderr: run.stderr };
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

export function jobSummaryJson(view: JobView): JobSummaryJson {
  const def = view.definition;
  return {
    name: def.name,
    file: def.file,
    description: def.description ?? null,
    tags: def.tags,
    enabled: view.enabled,
    enabled_override: view.enabledOverride,
    schedule: view.schedule,
    next_fire_times: view.nextFireTimes,
    last_run: view.lastRun ? runSummaryJson(view.lastRun) : null,
    running: view.running,
  };
}

export function jobDetailJson(view: JobView) {
  const definition = jobDefinitionJson(view.definition);
  return { ...jobSummaryJson(view), definition, children: view.children ?? [] };
}

export function jobDefinitionJson(def: JobDef) {
  return {
    description: def.description ?? null,
    owners: def.owners.map((o) => ({ name: o.name ?? null, email_address: o.email })),
    policy: policyJson(def.policy),
    schedule: scheduleJson(def.schedule),
    command: def.command.kind === 'argv' ? def.command.argv : null,
    shell_command: def.command.kind === 'shell' ? def.command.script : null,
    script: scriptJson(def.command),
    run_as: def.command.runAs ?? null,
    environment: def.environment,
    working_directory: def.workingDirectory ?? null,
    timeout_ms: def.timeoutMs ?? null,
    retries: { count: def.retries.count, delay_ms: def.retries.delayMs },
    overlap: def.overlap,
    catch_up: def.catchUp,
    rerun_lost: def.rerunLost === true,
    notify: notifyJson(def.notify),
    tags: def.tags,
    enabled: def.enabled,
    parameters: parametersJson(def),
    ...resourcesJson(def),
    after: (def.after?.parents ?? []).map(({ job, on, hosts }) => ({ job, on, hosts })),
    window_ms: def.after?.windowMs ?? null,
  };
}

/** GET /jobs/:name/dependencies: parents, children and what the next round waits for. */
export function dependencyJson(view: DependencyView) {
  return {
    job: view.job,
    after: view.after.map(({ job, on, hosts }) => ({ job, on, hosts })),
    window_ms: view.windowMs,
    children: view.children,
    round: view.round,
    last_fired_at: view.lastFiredAt,
    parents: view.parents.map((p) => ({
      job: p.job,
      on: p.on,
      hosts: p.hosts,
      counts_after: p.countsAfter,
      completion: p.completion && {
        execution_id: p.completion.executionId,
        completed_at: p.completion.completedAt,
        run_ids: p.completion.runIds,
        hosts: p.completion.hosts,
        succeeded: p.completion.succeeded,
      },
    })),
    waiting_for: view.waitingFor,
  };
}

/** Pools as the job file spells them (`"nightly-io@{node}": 1`), and the wait bound. */
function resourcesJson(def: JobDef) {
  const resources = Object.fromEntries(
    (def.resources ?? []).map((c) => [c.perNode ? `${c.pool}${PER_NODE_SUFFIX}` : c.pool, c.amount]),
  );
  return { resources, resource_wait_ms: def.resourceWaitMs ?? null };
}

/** A script job's script without its bytes (up to 1 MiB): where it comes from and what runs it. */
function scriptJson(command: JobDef['command']) {
  if (command.kind !== 'script') return null;
  const { source, sha256, interpreter, args, delivery } = command;
  return { source, sha256, interpreter, args, delivery };
}

/** Declared parameters (`parameters` of a job file), keys in the file's snake_case. */
function parametersJson(def: JobDef): Record<string, Record<string, unknown>> {
  const declared = (def as JobDef & { parameters?: Record<string, object> }).parameters ?? {};
  return Object.fromEntries(
    Object.entries(declared).map(([name, spec]) => [
      name,
      Object.fromEntries(
        Object.entries(spec)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => [
            k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
            v instanceof RegExp ? v.source : v,
          ]),
      ),
    ]),
  );
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
