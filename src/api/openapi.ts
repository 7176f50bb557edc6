import type { Role } from './auth.js';
import { ref, RUN_STATUS_ENUM, schemas, TRIGGER_ENUM } from './openapi-schemas.js';

type Json = Record<string, unknown>;

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid input (the reason and the validation problems are in the error)',
  401: 'Missing or wrong bearer token',
  403: 'The token is valid but its role is too weak',
  404: 'No such resource',
  409: 'Conflict with the resource state',
  413: 'Request body over the limit (1 MiB)',
  415: 'A write without Content-Type: application/json (also needed for an empty body)',
  421: 'The Host header names no address of this API (see --api-allowed-hosts)',
  500: 'The daemon failed; a file it cannot write is named in the message',
  503: 'The daemon is shutting down, or (several daemons) the database did not take a shared write',
};

const json = (schema: Json) => ({ 'application/json': { schema } });

interface OperationSpec {
  operationId: string;
  summary: string;
  tag: string;
  role: Role | null;
  path?: string[];
  query?: string[];
  /** Request header parameters (HEADER_PARAMS). */
  header?: string[];
  body?: { schema: string; required: boolean };
  ok: {
    status: number;
    also?: number;
    description: string;
    schema?: string;
    text?: boolean;
    /** Server-Sent Events (text/event-stream). */
    events?: boolean;
    headers?: string[];
  };
  errors?: number[];
}

const PATH_PARAMS: Record<string, Json> = {
  name: { description: 'Job or node name (a job name is its file name without .json)' },
  id: { description: 'Run id' },
  job: { description: 'Job name' },
  node: { description: 'Node name' },
};

const HEADER_PARAMS: Record<string, Json> = {
  'Last-Event-ID': {
    schema: { type: 'string', pattern: '^[0-9]+$' },
    description: 'Resume after this byte offset (the id of the last event received); wins over offset',
  },
};

const QUERY_PARAMS: Record<string, Json> = {
  stream: {
    schema: { type: 'string', enum: ['stdout', 'stderr', 'both'], default: 'both' },
    description: 'Which output stream',
  },
  offset: {
    schema: { type: 'integer', minimum: 0, default: 0 },
    description:
      "Byte offset in the run's combined output (the UTF-8 bytes of stdout and stderr chunks in arrival order)",
  },
  limit: { schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 }, description: 'Page size' },
  cursor: {
    schema: { type: 'string' },
    description: 'Opaque cursor from the previous page (see the Link header)',
  },
  job: { schema: { type: 'string' }, description: 'Only runs of this job' },
  node: { schema: { type: 'string' }, description: 'Only runs on this node' },
  status: { schema: { type: 'string', enum: RUN_STATUS_ENUM }, description: 'Only runs with this status' },
  trigger: { schema: { type: 'string', enum: TRIGGER_ENUM }, description: 'Only runs with this trigger' },
  since: {
    schema: { type: 'string', format: 'date-time' },
    description: 'Started (or scheduled) at or after',
  },
  until: { schema: { type: 'string', format: 'date-time' }, description: 'Started (or scheduled) before' },
  tag: { schema: { type: 'string' }, description: 'Only jobs carrying this tag' },
  dead_letter_limit: {
    name: 'limit',
    schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    description: 'How many, newest first',
  },
  q: { schema: { type: 'string' }, description: 'Case-insensitive text in the name or description' },
  job_status: {
    name: 'status',
    schema: { type: 'string', enum: [...RUN_STATUS_ENUM, 'enabled', 'disabled', 'never_run'] },
    description: 'Last run status, or enabled / disabled / never_run',
  },
};

const HEADERS: Record<string, Json> = {
  Link: { description: 'RFC 8288 link to the next page: <...>; rel="next"', schema: { type: 'string' } },
  Location: { description: 'The first run of the execution', schema: { type: 'string' } },
};

function parameters(spec: OperationSpec): Json[] {
  const path = (spec.path ?? []).map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
    ...PATH_PARAMS[name],
  }));
  const query = (spec.query ?? []).map((key) => ({
    name: key,
    in: 'query',
    required: false,
    ...QUERY_PARAMS[key],
  }));
  const header = (spec.header ?? []).map((name) => ({
    name,
    in: 'header',
    required: false,
    ...HEADER_PARAMS[name],
  }));
  return [...path, ...query, ...header];
}

function responses(spec: OperationSpec, method: string): Json {
  const { ok } = spec;
  const content = ok.text
    ? { 'text/plain': { schema: { type: 'string' } } }
    : ok.events
      ? { 'text/event-stream': { schema: { type: 'string' } } }
      : ok.schema
        ? json(ref(ok.schema))
        : undefined;
  const headers = ok.headers ? Object.fromEntries(ok.headers.map((h) => [h, HEADERS[h]])) : undefined;
  const success = { description: ok.description, ...(content && { content }), ...(headers && { headers }) };
  const out: Json = { [ok.status]: success, ...(ok.also && { [ok.also]: success }) };
  // Every authenticated route validates its query string (unknown parameters are a 400); any
  // request may name a host this API does not answer to; every write needs a JSON content type,
  // and one from another web origin is refused.
  const write = method !== 'get';
  const errors = new Set([
    ...(spec.role ? [400, 401, 403] : []),
    ...(write ? [403, 415] : []),
    ...(spec.body ? [413] : []),
    421,
    ...(spec.errors ?? []),
  ]);
  for (const status of [...errors].sort()) out[status] = { $ref: `#/components/responses/E${status}` };
  return out;
}

function operation(spec: OperationSpec, method: string): Json {
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    tags: [spec.tag],
    'x-required-role': spec.role ?? 'none',
    ...(spec.role === null && { security: [] }),
    parameters: parameters(spec),
    ...(spec.body && {
      requestBody: { required: spec.body.required, content: json(ref(spec.body.schema)) },
    }),
    responses: responses(spec, method),
  };
}

const RUN_FILTERS = ['job', 'node', 'status', 'trigger', 'since', 'until', 'limit', 'cursor'];
const ACTION_BODY = { schema: 'EmptyBody', required: false };

/** Every operation, keyed "method path" with OpenAPI path templates. */
export const OPERATIONS: Record<string, OperationSpec> = {
  'get /api/v1/whoami': {
    operationId: 'whoami',
    summary: "The calling token's name and role (null name when the API runs without tokens)",
    tag: 'meta',
    role: 'read',
    ok: { status: 200, description: 'The caller', schema: 'Whoami' },
    errors: [400],
  },
  'get /api/v1/dead-letters': {
    operationId: 'listDeadLetters',
    summary: 'Notifications given up on, newest first',
    tag: 'notifications',
    role: 'admin',
    query: ['dead_letter_limit'],
    ok: { status: 200, description: 'The dead letters', schema: 'DeadLetterList' },
    errors: [400],
  },
  'get /api/v1/jobs': {
    operationId: 'listJobs',
    summary: 'List jobs (sorted by name, paged)',
    tag: 'jobs',
    role: 'read',
    query: ['tag', 'q', 'job_status', 'limit', 'cursor'],
    ok: { status: 200, description: 'One page of jobs', schema: 'JobPage', headers: ['Link'] },
    errors: [400],
  },
  'get /api/v1/jobs/{name}': {
    operationId: 'getJob',
    summary: 'A job: definition, enabled state, next fire times, last run',
    tag: 'jobs',
    role: 'read',
    path: ['name'],
    ok: { status: 200, description: 'The job', schema: 'JobDetail' },
    errors: [400, 404],
  },
  'put /api/v1/jobs/{name}': {
    operationId: 'putJob',
    summary: 'Validate a job definition, then write jobs.d/<name>.json atomically',
    tag: 'jobs',
    role: 'admin',
    path: ['name'],
    body: { schema: 'JobFile', required: true },
    ok: { status: 200, also: 201, description: 'Written (200 replaced, 201 created)', schema: 'JobWritten' },
    errors: [400, 500, 503],
  },
  'delete /api/v1/jobs/{name}': {
    operationId: 'deleteJob',
    summary: "Remove the job's file",
    tag: 'jobs',
    role: 'admin',
    path: ['name'],
    ok: { status: 204, description: 'Removed' },
    errors: [400, 404, 500, 503],
  },
  'post /api/v1/jobs/{name}/run': {
    operationId: 'runJob',
    summary: 'Start a manual run now (optionally on chosen nodes, with values for declared parameters)',
    tag: 'jobs',
    role: 'operate',
    path: ['name'],
    body: { schema: 'RunRequest', required: false },
    ok: { status: 202, description: 'Started', schema: 'RunStarted', headers: ['Location'] },
    errors: [400, 404, 409, 503],
  },
  'post /api/v1/jobs/{name}/enable': {
    operationId: 'enableJob',
    summary: 'Enable the job (persisted; overrides the file)',
    tag: 'jobs',
    role: 'operate',
    path: ['name'],
    body: ACTION_BODY,
    ok: { status: 200, description: 'The job after the change', schema: 'JobSummary' },
    errors: [400, 404, 503],
  },
  'post /api/v1/jobs/{name}/disable': {
    operationId: 'disableJob',
    summary: 'Disable the job (persisted; overrides the file)',
    tag: 'jobs',
    role: 'operate',
    path: ['name'],
    body: ACTION_BODY,
    ok: { status: 200, description: 'The job after the change', schema: 'JobSummary' },
    errors: [400, 404, 503],
  },
  'get /api/v1/jobs/{name}/runs': {
    operationId: 'listJobRuns',
    summary: "The job's runs, newest first, paged",
    tag: 'jobs',
    role: 'read',
    path: ['name'],
    query: RUN_FILTERS.filter((q) => q !== 'job'),
    ok: { status: 200, description: 'One page of runs', schema: 'RunPage', headers: ['Link'] },
    errors: [400, 404],
  },
  'get /api/v1/jobs/{name}/dependencies': {
    operationId: 'getJobDependencies',
    summary: "The job's parents and children, and which parents its next round still waits for",
    tag: 'jobs',
    role: 'read',
    path: ['name'],
    ok: { status: 200, description: 'Parents, children and the round', schema: 'JobDependencies' },
    errors: [400, 404],
  },
  'get /api/v1/runs': {
    operationId: 'listRuns',
    summary: 'Runs, filtered and paged',
    tag: 'runs',
    role: 'read',
    query: RUN_FILTERS,
    ok: { status: 200, description: 'One page of runs', schema: 'RunPage', headers: ['Link'] },
    errors: [400],
  },
  'get /api/v1/runs/{id}': {
    operationId: 'getRun',
    summary: 'A run with its stdout and stderr',
    tag: 'runs',
    role: 'read',
    path: ['id'],
    ok: { status: 200, description: 'The run', schema: 'RunDetail' },
    errors: [400, 404],
  },
  'get /api/v1/runs/{id}/output': {
    operationId: 'getRunOutput',
    summary: "A run's output from a byte offset, while it runs and after",
    tag: 'runs',
    role: 'read',
    path: ['id'],
    query: ['stream', 'offset'],
    ok: { status: 200, description: 'Output from the offset', schema: 'RunOutput' },
    errors: [400, 404],
  },
  'get /api/v1/runs/{id}/output/stream': {
    operationId: 'streamRunOutput',
    summary:
      'Follow a run\'s output (Server-Sent Events): "output" events {stream, node, text} with id = the byte offset after the chunk, then "end" {status, exit_code}; a slow follower gets "dropped"; without offset or Last-Event-ID the last 64 KiB first',
    tag: 'runs',
    role: 'read',
    path: ['id'],
    query: ['stream', 'offset'],
    header: ['Last-Event-ID'],
    ok: { status: 200, description: 'The event stream', events: true },
    errors: [400, 404, 503],
  },
  'post /api/v1/runs/{id}/cancel': {
    operationId: 'cancelRun',
    summary:
      'Cancel a running run wherever it executes (its whole process tree is killed); a run on another member, or queued, is cancelled by the member that executes it within about a second',
    tag: 'runs',
    role: 'operate',
    path: ['id'],
    body: ACTION_BODY,
    ok: { status: 202, description: 'Cancel requested', schema: 'CancelAccepted' },
    errors: [400, 404, 409],
  },
  'post /api/v1/exec': {
    operationId: 'execAdhoc',
    summary:
      'Run an ad-hoc command once on the nodes a policy selects, through the job path (trigger adhoc, no notifications)',
    tag: 'exec',
    role: 'admin',
    body: { schema: 'ExecRequest', required: true },
    ok: {
      status: 202,
      description: 'Started; poll GET /api/v1/runs/{id} for each run (job "@adhoc")',
      schema: 'RunStarted',
      headers: ['Location'],
    },
    errors: [400, 503],
  },
  'get /api/v1/nodes': {
    operationId: 'listNodes',
    summary: 'Nodes with roles, up/down, runs in flight and last error',
    tag: 'nodes',
    role: 'read',
    ok: { status: 200, description: 'All nodes', schema: 'NodeList' },
    errors: [400],
  },
  'get /api/v1/nodes/{name}': {
    operationId: 'getNode',
    summary: 'A node',
    tag: 'nodes',
    role: 'read',
    path: ['name'],
    ok: { status: 200, description: 'The node', schema: 'Node' },
    errors: [400, 404],
  },
  'get /api/v1/resources': {
    operationId: 'listResources',
    summary:
      'Resource pools (resources.d, one per host for per-host pools) with limits, holders, waiters in serving order, and acquisitions in the last minute; cluster-wide',
    tag: 'nodes',
    role: 'read',
    ok: { status: 200, description: 'Every pool declared or in use', schema: 'ResourceList' },
    errors: [400],
  },
  'get /api/v1/config/errors': {
    operationId: 'listConfigErrors',
    summary: 'Every config file that failed to load, with location and message',
    tag: 'config',
    role: 'read',
    ok: { status: 200, description: 'The problems', schema: 'ConfigErrors' },
    errors: [400],
  },
  'get /api/v1/audit': {
    operationId: 'listAudit',
    summary: 'Every write through the API (who, what, on what, from where, answer), newest first',
    tag: 'audit',
    role: 'admin',
    query: ['limit', 'cursor'],
    ok: { status: 200, description: 'One page of audit entries', schema: 'AuditPage', headers: ['Link'] },
    errors: [400],
  },
  'get /api/v1/openapi.json': {
    operationId: 'getOpenApiDocument',
    summary: 'This document',
    tag: 'meta',
    role: null,
    ok: { status: 200, description: 'OpenAPI 3.1 document', schema: 'OpenApiDocument' },
  },
  'get /healthz': {
    operationId: 'getHealth',
    summary: 'Liveness (no authentication)',
    tag: 'meta',
    role: null,
    ok: { status: 200, description: 'Alive', schema: 'Health' },
  },
  'get /api/v1/cluster': {
    operationId: 'getCluster',
    summary:
      'Members of the cluster (several daemons on one PostgreSQL database), the leader and its epoch; SQLite: this daemon alone',
    tag: 'meta',
    role: 'read',
    ok: { status: 200, description: 'The cluster', schema: 'Cluster' },
    errors: [400],
  },
  'get /metrics': {
    operationId: 'getMetrics',
    summary: 'Prometheus metrics (text exposition format); needs a read token when tokens are set',
    tag: 'meta',
    role: 'read',
    ok: { status: 200, description: 'Metrics', text: true },
  },
  'get /': {
    operationId: 'legacyRoot',
    summary: 'distcrond: links to /jobs and /nodes',
    tag: 'distcrond',
    role: 'read',
    ok: { status: 200, description: 'Links', schema: 'LegacyRoot' },
    errors: [400],
  },
  'get /jobs': {
    operationId: 'legacyListJobs',
    summary: 'distcrond: all jobs',
    tag: 'distcrond',
    role: 'read',
    ok: { status: 200, description: 'Jobs', schema: 'LegacyJobList' },
    errors: [400],
  },
  'get /jobs/{job}': {
    operationId: 'legacyGetJob',
    summary: 'distcrond: a job',
    tag: 'distcrond',
    role: 'read',
    path: ['job'],
    ok: { status: 200, description: 'The job', schema: 'LegacyJob' },
    errors: [400, 404],
  },
  'get /jobs/{job}/reports': {
    operationId: 'legacyJobReports',
    summary: "distcrond: the job's latest run reports, one per execution",
    tag: 'distcrond',
    role: 'read',
    path: ['job'],
    ok: { status: 200, description: 'Reports', schema: 'LegacyReportList' },
    errors: [400, 404],
  },
  'get /nodes': {
    operationId: 'legacyListNodes',
    summary: 'distcrond: all nodes',
    tag: 'distcrond',
    role: 'read',
    ok: { status: 200, description: 'Nodes', schema: 'LegacyNodeList' },
    errors: [400],
  },
  'get /nodes/{node}': {
    operationId: 'legacyGetNode',
    summary: 'distcrond: a node',
    tag: 'distcrond',
    role: 'read',
    path: ['node'],
    ok: { status: 200, description: 'The node', schema: 'LegacyNode' },
    errors: [400, 404],
  },
};

function paths(): Json {
  const out: Record<string, Json> = {};
  for (const [key, spec] of Object.entries(OPERATIONS)) {
    const [method, path] = key.split(' ') as [string, string];
    out[path] = { ...out[path], [method]: operation(spec, method) };
  }
  return out;
}

function errorResponses(): Json {
  return Object.fromEntries(
    Object.entries(ERROR_TEXT).map(([status, description]) => [
      `E${status}`,
      { description, content: json(ref('Error')) },
    ]),
  );
}

let cached: Json | null = null;

/** The OpenAPI 3.1 document served at /api/v1/openapi.json. */
export function openApiDocument(): Json {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'distcron API',
      version: '1.0.0',
      license: { name: 'MIT', identifier: 'MIT' },
      description:
        'Management API of distcron. Authenticate with "Authorization: Bearer <token>"; roles read < operate < admin.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths: paths(),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        ...schemas,
        LegacyJobList: { type: 'array', items: ref('LegacyJob') },
        LegacyNodeList: { type: 'array', items: ref('LegacyNode') },
        LegacyReportList: { type: 'array', items: ref('LegacyReport') },
      },
      responses: errorResponses(),
    },
  };
  return cached;
}
