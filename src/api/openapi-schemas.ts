/**
 * JSON Schemas (OpenAPI 3.1 = JSON Schema 2020-12) of every response body. Objects are closed
 * (`additionalProperties: false`) so a test that validates responses catches any drift.
 */

import { NOTIFY_EVENTS as NOTIFY_EVENT_NAMES, RUN_STATUSES, TRIGGERS } from '../core/types.js';

type Schema = Record<string, unknown>;

const str: Schema = { type: 'string' };
const nstr: Schema = { type: ['string', 'null'] };
const int: Schema = { type: 'integer' };
const nint: Schema = { type: ['integer', 'null'] };
const bool: Schema = { type: 'boolean' };
const dt: Schema = { type: 'string', format: 'date-time' };
const ndt: Schema = { type: ['string', 'null'], format: 'date-time' };
const strMap: Schema = { type: 'object', additionalProperties: { type: 'string' } };

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (schema: Schema): Schema => ({ oneOf: [schema, { type: 'null' }] });
const arr = (items: Schema): Schema => ({ type: 'array', items });

/** A closed object; every listed property is required unless named in `optional`. */
function obj(properties: Record<string, Schema>, optional: string[] = []): Schema {
  const required = Object.keys(properties).filter((k) => !optional.includes(k));
  return { type: 'object', additionalProperties: false, required, properties };
}

export const RUN_STATUS_ENUM = [...RUN_STATUSES];
export const TRIGGER_ENUM = [...TRIGGERS];
const NOTIFY_EVENTS = { type: 'string', enum: [...NOTIFY_EVENT_NAMES] };

const runFields: Record<string, Schema> = {
  id: str,
  execution_id: str,
  job: str,
  node: nstr,
  host: nstr,
  trigger: { type: 'string', enum: TRIGGER_ENUM },
  attempt: int,
  scheduled_at: ndt,
  started_at: ndt,
  finished_at: ndt,
  duration_ms: nint,
  status: { type: 'string', enum: RUN_STATUS_ENUM },
  exit_code: nint,
  signal: nstr,
  output_truncated: bool,
  error: nstr,
  parameters: {
    type: ['object', 'null'],
    additionalProperties: { type: 'string' },
    description: 'Parameter values of a manual run',
  },
  requested_by: { type: ['string', 'null'], description: 'Name of the API token that started the run' },
  parent_runs: { type: ['array', 'null'], items: str },
  script_sha256: nstr,
  member: nstr,
};
/** Run fields added after the first release: absent from older daemons' answers. */
const LATER_RUN_FIELDS = ['parameters', 'requested_by', 'parent_runs', 'script_sha256', 'member'];

const parameterSpec: Schema = {
  type: 'object',
  properties: {
    enum: arr(str),
    pattern: str,
    type: { type: 'string', enum: ['string'] },
    max_length: int,
    default: str,
    required: bool,
  },
};

const jobSummaryFields: Record<string, Schema> = {
  name: str,
  file: str,
  description: nstr,
  tags: arr(str),
  enabled: bool,
  enabled_override: { type: ['boolean', 'null'] },
  schedule: { type: 'string', description: 'The schedule as written (or "@manual")' },
  next_fire_times: arr(dt),
  last_run: nullable(ref('RunSummary')),
  running: int,
};

/** One parent of a dependent job (SPEC §16). */
const dependencyFields = {
  job: str,
  on: { type: 'string', enum: ['success', 'failure', 'done'] },
  hosts: {
    type: 'string',
    enum: ['all', 'any'],
    description: 'For a parent on every host: all must succeed, or any one',
  },
};
const dependency = obj(dependencyFields);

const jobDependencies = obj({
  job: str,
  after: arr(dependency),
  window_ms: nint,
  children: arr(str),
  round: { ...nint, description: 'The round that fires next; null for a job without "after"' },
  last_fired_at: {
    ...nstr,
    description: 'When the last round fired (round 0: when the job was first loaded)',
  },
  parents: arr(
    obj({
      ...dependencyFields,
      counts_after: { type: 'string', description: 'Completions at or before this time do not count' },
      completion: nullable(
        obj({ execution_id: str, completed_at: str, run_ids: arr(str), hosts: int, succeeded: int }),
      ),
    }),
  ),
  waiting_for: { ...arr(str), description: 'Parents without a completion that counts yet' },
});

const jobDefinition = obj({
  description: nstr,
  owners: arr(obj({ name: nstr, email_address: str })),
  policy: obj({
    select: { type: 'string', enum: ['any', 'all'] },
    hosts: nullable(arr(str)),
    roles: nullable(arr(str)),
    roles_match: { type: 'string', enum: ['any', 'all'] },
    labels: strMap,
    placement: { type: 'string', enum: ['least_loaded', 'round_robin', 'random'] },
    max_parallel: nint,
  }),
  schedule: {
    type: 'object',
    required: ['kind'],
    properties: { kind: { type: 'string', enum: ['manual', 'cron', 'every', 'interval', 'fuzzy', 'at'] } },
  },
  command: nullable(arr(str)),
  shell_command: nstr,
  script: nullable(
    obj({
      source: str,
      sha256: str,
      interpreter: arr(str),
      args: arr(str),
      delivery: { type: 'string', enum: ['stdin', 'upload'] },
    }),
  ),
  run_as: nstr,
  environment: strMap,
  working_directory: nstr,
  timeout_ms: nint,
  retries: obj({ count: int, delay_ms: int }),
  overlap: { type: 'string', enum: ['skip', 'queue', 'allow'] },
  catch_up: { type: 'string', enum: ['skip', 'latest', 'all'] },
  rerun_lost: bool,
  notify: obj({
    on: arr(NOTIFY_EVENTS),
    email: arr(str),
    webhooks: arr(
      obj({
        url: str,
        on: nullable(arr(NOTIFY_EVENTS)),
        format: { type: 'string', enum: ['json', 'slack'] },
        has_secret: { type: 'boolean', description: 'The secret itself is never returned' },
      }),
    ),
    remind_every_ms: nint,
  }),
  tags: arr(str),
  enabled: bool,
  parameters: { type: 'object', additionalProperties: parameterSpec, description: 'Declared parameters' },
  resources: {
    type: 'object',
    additionalProperties: int,
    description: 'Units of each resource pool a run holds; "<pool>@{node}" is one pool per host',
  },
  resource_wait_ms: nint,
  after: { ...arr(dependency), description: 'The jobs this one runs after (empty: none)' },
  window_ms: nint,
});

const configProblem = obj({
  file: str,
  line: int,
  column: int,
  path: { type: 'string', description: 'JSON path such as $.policy.hosts[0]' },
  message: str,
  severity: { type: 'string', enum: ['error', 'warning'] },
});

const node = obj({
  name: str,
  file: str,
  description: nstr,
  roles: arr(str),
  labels: strMap,
  connection_type: { type: 'string', enum: ['local', 'ssh'] },
  address: nstr,
  user: nstr,
  disabled: bool,
  status: { type: 'string', enum: ['up', 'down'] },
  max_concurrent_runs: int,
  runs_in_flight: { ...int, description: "Runs holding a slot of the node now, every cluster member's" },
  health: obj({ up: bool, last_error: nstr, last_checked_at: ndt, next_probe_at: ndt }),
});

const legacyDate = nullable(obj({ timestamp: { type: 'number' }, string: str }));
const legacyTime = obj({ start: str, stop: str });
const legacyDuration = obj({ milliseconds: { type: 'number' }, string: str });

const legacy: Record<string, Schema> = {
  LegacyRoot: obj({ links: arr(obj({ href: str, rel: str })) }),
  LegacyJob: obj({
    name: str,
    href: str,
    links: arr(obj({ href: str, rel: str })),
    description: str,
    owners: arr(obj({ name: str, email_address: str })),
    execution_policy: {
      oneOf: [obj({ select: str, roles: arr(str) }), obj({ select: str, hosts: arr(str) })],
    },
    execution_schedule: str,
    command: arr(str),
    last_execution: legacyDate,
    next_execution: legacyDate,
  }),
  LegacyNode: obj({
    name: str,
    href: str,
    roles: arr(str),
    status: { enum: ['up', 'down'] },
    running_jobs: int,
  }),
  LegacyReport: obj({
    job: str,
    time: legacyTime,
    duration: legacyDuration,
    success: bool,
    items: arr(obj({ time: legacyTime, duration: legacyDuration, success: bool, output: str, node: str })),
  }),
};

export const schemas: Record<string, Schema> = {
  Error: obj({
    error: obj({
      code: { type: 'string', description: 'Stable machine-readable code, e.g. not_found, unknown_fields' },
      message: str,
      details: {
        type: ['object', 'null'],
        description: 'e.g. {"unknown_fields": [...]} or {"problems": [...]}',
      },
    }),
  }),
  RunSummary: obj(runFields, LATER_RUN_FIELDS),
  RunOutput: obj({
    text: { type: 'string', description: 'Output from the offset (of the chosen stream)' },
    next_offset: { type: 'integer', description: 'Offset to ask for next' },
    complete: { type: 'boolean', description: 'The run is final and this is the end of its output' },
  }),
  RunDetail: obj({ ...runFields, stdout: str, stderr: str }, LATER_RUN_FIELDS),
  RunPage: obj({ runs: arr(ref('RunSummary')), next_cursor: nstr }),
  RunStarted: obj({ job: str, execution_id: str, run_ids: arr(str) }),
  CancelAccepted: obj({ id: str, job: str, cancel_requested: { const: true } }),
  JobSummary: obj(jobSummaryFields),
  JobDetail: obj({
    ...jobSummaryFields,
    definition: ref('JobDefinition'),
    children: { ...arr(str), description: 'The jobs that run after this one' },
  }),
  JobDependencies: jobDependencies,
  JobDefinition: jobDefinition,
  JobPage: obj({ jobs: arr(ref('JobSummary')), next_cursor: nstr }),
  JobWritten: obj({ name: str, created: bool, job: nullable(ref('JobDetail')) }),
  JobFile: {
    type: 'object',
    description: 'A job file (SPEC §4), exactly as it would be written to jobs.d/<name>.json',
  },
  RunRequest: {
    type: 'object',
    additionalProperties: false,
    properties: {
      nodes: {
        ...arr(str),
        minItems: 1,
        description: 'Run on exactly these nodes (default: the job policy)',
      },
      parameters: {
        type: 'object',
        maxProperties: 100,
        additionalProperties: { type: 'string', maxLength: 4096 },
        description: 'Values of parameters the job declares; any other name is refused',
      },
      node: { ...str, deprecated: true, description: 'One node; use nodes' },
      environment: {
        ...strMap,
        deprecated: true,
        description: 'Same as parameters (only declared names are accepted)',
      },
    },
  },
  ExecRequest: {
    type: 'object',
    additionalProperties: false,
    description:
      'An ad-hoc command; each field means what it means in a job file (SPEC §4, §17). Give command or shell_command.',
    required: ['policy'],
    properties: {
      policy: {
        type: 'object',
        description: 'Which nodes: {"select": "all"|"any", "roles": [...]} or {"hosts": [...]}, as in a job',
      },
      command: { ...arr(str), minItems: 1, description: 'argv, POSIX-quoted word by word' },
      shell_command: { type: 'string', minLength: 1, description: "Run as /bin/sh -c '<quoted>'" },
      run_as: { type: 'string', description: 'Run through sudo -n -u USER --' },
      timeout: { type: 'string', description: 'e.g. "30s" (default: the daemon\'s --default-timeout)' },
      working_directory: str,
      environment: strMap,
    },
  },
  AuditEntry: obj({
    id: int,
    at: dt,
    token: { type: ['string', 'null'], description: 'Token name (null when the API runs without tokens)' },
    action: {
      type: 'string',
      enum: ['job.put', 'job.delete', 'job.run', 'job.enable', 'job.disable', 'run.cancel', 'adhoc.exec'],
    },
    target: str,
    address: nstr,
    status: int,
  }),
  AuditPage: obj({ entries: arr(ref('AuditEntry')), next_cursor: nstr }),
  EmptyBody: { type: 'object', additionalProperties: false, maxProperties: 0 },
  Node: node,
  NodeList: obj({ nodes: arr(ref('Node')) }),
  ResourcePool: obj({
    name: str,
    declared_by: nstr,
    capacity: nint,
    per_minute: nint,
    in_use: int,
    holders: arr(obj({ run_id: str, job: str, node: nstr, since: dt, amount: int })),
    waiters: arr(obj({ run_id: str, job: str, node: nstr, since: dt, wanted: int })),
    acquisitions_last_minute: int,
  }),
  ResourceList: obj({ pools: arr(ref('ResourcePool')) }),
  ConfigProblem: configProblem,
  ConfigErrors: obj({ errors: arr(ref('ConfigProblem')) }),
  Whoami: obj({
    name: {
      type: ['string', 'null'],
      description: "The token's name; null when the API runs without tokens",
    },
    role: { type: 'string', enum: ['read', 'operate', 'admin'] },
  }),
  DeadLetter: obj({
    id: int,
    sink: str,
    key: str,
    reason: str,
    created_at: dt,
    payload: { description: 'The message as queued (never holds a secret)' },
  }),
  DeadLetterList: obj({ dead_letters: arr(ref('DeadLetter')) }),
  Health: obj(
    {
      status: {
        enum: ['ok', 'degraded'],
        description: 'degraded: this member runs, but see config_problem',
      },
      role: { enum: ['leader', 'follower'] },
      lease_problem: str,
      config_problem: str,
      warning: str,
    },
    ['lease_problem', 'config_problem', 'warning'],
  ),
  ClusterMember: obj({
    id: str,
    listen: nstr,
    pid: int,
    host: str,
    alive: bool,
    leader: bool,
    heartbeat_age_ms: int,
    config_hash: nstr,
    config_matches_leader: { type: ['boolean', 'null'], description: 'null while no leader is known' },
    runs_in_flight: int,
  }),
  Cluster: obj({ self: str, leader: nstr, epoch: int, members: arr(ref('ClusterMember')) }),
  OpenApiDocument: {
    type: 'object',
    required: ['openapi', 'paths'],
    properties: { openapi: { type: 'string' }, paths: { type: 'object' } },
  },
  ...legacy,
};
