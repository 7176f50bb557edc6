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
  parameters: nullable(strMap),
  requestedBy: nstr,
  parentRuns: nullable(arr(str)),
  scriptSha256: nstr,
  member: nstr,
};
/** Columns added after the first release: a run recorded before them may lack the fields. */
const RUN_LATER_FIELDS = ['parameters', 'requestedBy', 'parentRuns', 'scriptSha256', 'member'];

const parameterSpec = obj(
  {
    type: { const: 'string' },
    enum: arr(str),
    pattern: str,
    max_length: int,
    default: str,
    required: bool,
    description: str,
  },
  ['enum', 'pattern', 'max_length', 'default', 'description'],
);

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
  environment: strMap,
  parameters: { type: 'object', additionalProperties: parameterSpec },
  working_directory: nstr,
  timeout_ms: nint,
  retries: obj({ count: int, delay_ms: int }),
  overlap: { type: 'string', enum: ['skip', 'queue', 'allow'] },
  catch_up: { type: 'string', enum: ['skip', 'latest', 'all'] },
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
  runs_in_flight: int,
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
  RunSummary: obj(runFields, RUN_LATER_FIELDS),
  RunDetail: obj({ ...runFields, stdout: str, stderr: str }, RUN_LATER_FIELDS),
  RunPage: obj({ runs: arr(ref('RunSummary')), next_cursor: nstr }),
  RunStarted: obj({ job: str, execution_id: str, run_ids: arr(str) }),
  CancelAccepted: obj({ id: str, job: str, cancel_requested: { const: true } }),
  JobSummary: obj(jobSummaryFields),
  JobDetail: obj({ ...jobSummaryFields, definition: ref('JobDefinition') }),
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
      nodes: { ...arr(str), minItems: 1, description: 'Run on exactly these nodes' },
      parameters: { ...strMap, description: "Values for the job's declared parameters" },
      node: { ...str, description: 'Legacy: one node (same as "nodes": [node])' },
      environment: { ...strMap, description: 'Legacy: read as "parameters" (declared names only)' },
    },
  },
  EmptyBody: { type: 'object', additionalProperties: false, maxProperties: 0 },
  Node: node,
  NodeList: obj({ nodes: arr(ref('Node')) }),
  ConfigProblem: configProblem,
  ConfigErrors: obj({ errors: arr(ref('ConfigProblem')) }),
  Health: obj({ status: { const: 'ok' } }),
  OpenApiDocument: { type: 'object', required: ['openapi', 'paths'] },
  ...legacy,
};
