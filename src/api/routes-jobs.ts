import type { Request, Response } from 'express';
import type { JobView, ManualRunRequest } from '../daemon/control.js';
import { ApiError } from './errors.js';
import { bodyObject, checkJobName, parseLimit, pathParam, readQuery } from './request.js';
import { API_PREFIX, nextLink, type ApiRoute, type RouteContext } from './routes.js';
import { checkJobStatusFilter, jobsPage } from './jobs-list.js';
import { listRunsResponse } from './routes-runs.js';
import { configProblemJson, dependencyJson, jobDetailJson, jobSummaryJson } from './views.js';
import type { Caller } from './auth.js';

export const JOBS_DEFAULT_LIMIT = 50; // like runs: one page is a screenful, and cheap to build
export const JOBS_MAX_LIMIT = 1000;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function jobName(req: Request): string {
  return checkJobName(pathParam(req, 'name'));
}

async function existingJob(ctx: RouteContext, name: string): Promise<JobView> {
  const job = await ctx.control.getJob(name);
  if (!job) throw new ApiError(404, 'not_found', `api: no job named "${name}"`);
  return job;
}

function decodeJobCursor(cursor: string | undefined): string | null {
  if (cursor === undefined) return null;
  if (!/^[A-Za-z0-9_-]{1,700}$/.test(cursor))
    throw new ApiError(400, 'invalid_parameter', 'api: cursor is not one this API handed out', {
      parameter: 'cursor',
    });
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

async function listJobs(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  const query = readQuery(req, ['tag', 'q', 'status', 'limit', 'cursor']);
  const limit = parseLimit(query.limit, JOBS_DEFAULT_LIMIT, JOBS_MAX_LIMIT);
  checkJobStatusFilter(query.status);
  const page = await jobsPage(ctx.control, {
    tag: query.tag,
    q: query.q,
    status: query.status,
    after: decodeJobCursor(query.cursor),
    limit,
  });
  const next = page.lastName === null ? null : Buffer.from(page.lastName, 'utf8').toString('base64url');
  if (next !== null) res.setHeader('Link', nextLink(req.path, { ...query, limit: String(limit) }, next));
  res.json({ jobs: page.jobs.map(jobSummaryJson), next_cursor: next });
}

async function getJob(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  readQuery(req, []);
  res.json(jobDetailJson(await existingJob(ctx, jobName(req))));
}

async function putJob(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  const name = jobName(req);
  readQuery(req, []);
  if (req.body === undefined)
    throw new ApiError(400, 'missing_body', 'api: send the job definition as a JSON object');
  if (typeof req.body !== 'object' || Array.isArray(req.body))
    throw new ApiError(400, 'invalid_body', 'api: the job definition must be a JSON object');
  const result = await ctx.control.putJob(name, req.body);
  if (!result.ok) {
    const problems = result.problems.map(configProblemJson);
    const first = problems.find((p) => p.severity === 'error') ?? problems[0];
    throw new ApiError(
      400,
      'invalid_job',
      `config: job "${name}" is invalid: ${first?.message ?? 'see details'}`,
      {
        problems,
      },
    );
  }
  const job = result.job ? jobDetailJson(result.job) : null;
  res.status(result.created ? 201 : 200).json({ name, created: result.created, job });
}

async function deleteJob(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  const name = jobName(req);
  readQuery(req, []);
  if (!(await ctx.control.deleteJob(name)))
    throw new ApiError(404, 'not_found', `api: no job file for "${name}"`);
  res.status(204).end();
}

/** More would only be a way to make the daemon work: no job declares this many. */
export const MAX_RUN_PARAMETERS = 100;
export const MAX_PARAMETER_VALUE_LENGTH = 4096;
const MAX_RUN_NODES = 1000;

/**
 * The run request: `nodes` (or the legacy `node`), `parameters` (or the legacy `environment`,
 * which names parameters too). Shape and size are checked here; the daemon checks the values
 * against what the job declares.
 */
export function parseRunRequest(body: unknown, requestedBy: string | null): ManualRunRequest {
  const record = bodyObject(body, ['node', 'nodes', 'parameters', 'environment'], true);
  const request: ManualRunRequest = { requestedBy };
  if (record.node !== undefined && record.nodes !== undefined)
    throw new ApiError(400, 'invalid_body', 'api: give either node or nodes, not both');
  if (record.parameters !== undefined && record.environment !== undefined)
    throw new ApiError(400, 'invalid_body', 'api: give either parameters or environment, not both');
  if (record.node !== undefined) request.nodes = [nodeName(record.node, 'node')];
  if (record.nodes !== undefined) request.nodes = parseNodes(record.nodes);
  const parameters = record.parameters ?? record.environment;
  if (parameters !== undefined)
    request.parameters = parseParameters(
      parameters,
      record.parameters !== undefined ? 'parameters' : 'environment',
    );
  return request;
}

function nodeName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '' || value.length > 256)
    throw new ApiError(400, 'invalid_body', `api: ${field} must be a node name (a non-empty string)`, {
      field,
    });
  return value;
}

function parseNodes(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_RUN_NODES)
    throw new ApiError(
      400,
      'invalid_body',
      `api: nodes must be an array of 1 to ${MAX_RUN_NODES} node names`,
      {
        field: 'nodes',
      },
    );
  const names = value.map((v, i) => nodeName(v, `nodes[${i}]`));
  return [...new Set(names)];
}

function parseParameters(value: unknown, field: string): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ApiError(400, 'invalid_body', `api: ${field} must be an object of NAME: "value" entries`, {
      field,
    });
  const entries = Object.entries(value);
  if (entries.length > MAX_RUN_PARAMETERS)
    throw new ApiError(
      400,
      'invalid_parameter',
      `api: ${field} has ${entries.length} entries; at most ${MAX_RUN_PARAMETERS}`,
      {
        field,
      },
    );
  for (const [name, v] of entries) checkParameter(field, name, v);
  return Object.fromEntries(entries) as Record<string, string>;
}

function checkParameter(field: string, name: string, value: unknown): void {
  const fail = (why: string) =>
    new ApiError(400, 'invalid_parameter', `api: ${field}.${name.slice(0, 64)} ${why}`, { parameter: name });
  if (!ENV_NAME.test(name) || name.length > 128)
    throw fail('is not a parameter name (letters, digits and _, not starting with a digit)');
  if (typeof value !== 'string') throw fail('must be a string');
  if (value.length > MAX_PARAMETER_VALUE_LENGTH)
    throw fail(`is longer than ${MAX_PARAMETER_VALUE_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value))
    throw fail('contains a control character (NUL, newline, ...)');
}

async function runJob(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  const name = jobName(req);
  readQuery(req, []);
  const caller = res.locals.caller as Caller | undefined;
  const request = parseRunRequest(req.body, caller?.name ?? null);
  await existingJob(ctx, name);
  const started = await ctx.control.runJob(name, request);
  if (started.runIds[0]) res.setHeader('Location', `${API_PREFIX}/runs/${started.runIds[0]}`);
  res.status(202).json({ job: name, execution_id: started.executionId, run_ids: started.runIds });
}

function setEnabled(enabled: boolean) {
  return async (ctx: RouteContext, req: Request, res: Response): Promise<void> => {
    const name = jobName(req);
    readQuery(req, []);
    bodyObject(req.body, [], true);
    await existingJob(ctx, name);
    await ctx.control.setJobEnabled(name, enabled);
    res.json(jobSummaryJson(await existingJob(ctx, name)));
  };
}

async function jobRuns(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  const name = jobName(req);
  await existingJob(ctx, name);
  await listRunsResponse(ctx, req, res, { job: name });
}

async function jobDependencies(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  const name = jobName(req);
  readQuery(req, []);
  const view = await ctx.control.jobDependencies(name);
  if (!view) throw new ApiError(404, 'not_found', `api: no job named "${name}"`);
  res.json(dependencyJson(view));
}

const P = `${API_PREFIX}/jobs`;

export const jobRoutes: ApiRoute[] = [
  { method: 'get', path: P, role: 'read', handle: listJobs },
  { method: 'get', path: `${P}/:name`, role: 'read', handle: getJob },
  { method: 'put', path: `${P}/:name`, role: 'admin', audit: 'job.put', handle: putJob },
  { method: 'delete', path: `${P}/:name`, role: 'admin', audit: 'job.delete', handle: deleteJob },
  { method: 'post', path: `${P}/:name/run`, role: 'operate', audit: 'job.run', handle: runJob },
  {
    method: 'post',
    path: `${P}/:name/enable`,
    role: 'operate',
    audit: 'job.enable',
    handle: setEnabled(true),
  },
  {
    method: 'post',
    path: `${P}/:name/disable`,
    role: 'operate',
    audit: 'job.disable',
    handle: setEnabled(false),
  },
  { method: 'get', path: `${P}/:name/runs`, role: 'read', handle: jobRuns },
  { method: 'get', path: `${P}/:name/dependencies`, role: 'read', handle: jobDependencies },
];
