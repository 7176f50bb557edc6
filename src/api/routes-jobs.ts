import type { Request, Response } from 'express';
import type { JobView, ManualRunRequest } from '../daemon/control.js';
import { ApiError } from './errors.js';
import type { Caller } from './auth.js';
import { bodyObject, checkJobName, parseLimit, pathParam, readQuery } from './request.js';
import { API_PREFIX, nextLink, type ApiRoute, type RouteContext } from './routes.js';
import { checkJobStatusFilter, jobsPage } from './jobs-list.js';
import { listRunsResponse } from './routes-runs.js';
import { configProblemJson, jobDetailJson, jobSummaryJson, jobSummaryText } from './views.js';
import { sendJson, sendJsonText } from './respond.js';

export const JOBS_DEFAULT_LIMIT = 50; // like runs: one page is a screenful, and cheap to build
export const JOBS_MAX_LIMIT = 1000;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function jobName(req: Request): string {
  return checkJobName(pathParam(req, 'name'));
}

function existingJob(ctx: RouteContext, name: string): JobView {
  const job = ctx.control.getJob(name);
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

function listJobs(ctx: RouteContext, req: Request, res: Response): void {
  const query = readQuery(req, ['tag', 'q', 'status', 'limit', 'cursor']);
  const limit = parseLimit(query.limit, JOBS_DEFAULT_LIMIT, JOBS_MAX_LIMIT);
  checkJobStatusFilter(query.status);
  const page = jobsPage(ctx.control, {
    tag: query.tag,
    q: query.q,
    status: query.status,
    after: decodeJobCursor(query.cursor),
    limit,
  });
  const next = page.lastName === null ? null : Buffer.from(page.lastName, 'utf8').toString('base64url');
  if (next !== null) res.setHeader('Link', nextLink(req.path, { ...query, limit: String(limit) }, next));
  sendJsonText(
    res,
    `{"jobs":[${page.jobs.map(jobSummaryText).join(',')}],"next_cursor":${JSON.stringify(next)}}`,
  );
}

function getJob(ctx: RouteContext, req: Request, res: Response): void {
  readQuery(req, []);
  sendJson(res, jobDetailJson(existingJob(ctx, jobName(req))));
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
  sendJson(res, { name, created: result.created, job }, result.created ? 201 : 200);
}

async function deleteJob(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  const name = jobName(req);
  readQuery(req, []);
  if (!(await ctx.control.deleteJob(name)))
    throw new ApiError(404, 'not_found', `api: no job file for "${name}"`);
  res.status(204).end();
}

/**
 * `{"nodes": [...], "parameters": {...}}`; the legacy `node` (one name) and `environment` (read
 * as parameters, so only declared names pass) keep working. The daemon checks the values.
 */
function parseRunRequest(body: unknown): ManualRunRequest {
  const record = bodyObject(body, ['node', 'nodes', 'environment', 'parameters'], true);
  const request: ManualRunRequest = {};
  if (record.node !== undefined) {
    if (typeof record.node !== 'string' || record.node === '')
      throw new ApiError(400, 'invalid_body', 'api: node must be a node name (string)');
    request.nodes = [record.node];
  }
  if (record.nodes !== undefined) {
    const nodes = record.nodes;
    if (!Array.isArray(nodes) || nodes.length === 0 || nodes.some((n) => typeof n !== 'string' || n === ''))
      throw new ApiError(400, 'invalid_body', 'api: nodes must be a non-empty array of node names');
    request.nodes = [...(request.nodes ?? []), ...(nodes as string[])];
  }
  if (record.environment !== undefined) request.parameters = parseEnvironment(record.environment);
  if (record.parameters !== undefined)
    request.parameters = { ...request.parameters, ...parseEnvironment(record.parameters) };
  return request;
}

function parseEnvironment(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ApiError(400, 'invalid_body', 'api: environment must be an object of string values');
  const bad = Object.entries(value).filter(([k, v]) => !ENV_NAME.test(k) || typeof v !== 'string');
  if (bad.length > 0)
    throw new ApiError(
      400,
      'invalid_body',
      'api: environment needs NAME (letters, digits, _) → string entries',
      {
        invalid_keys: bad.map(([k]) => k),
      },
    );
  return { ...(value as Record<string, string>) };
}

async function runJob(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  const name = jobName(req);
  readQuery(req, []);
  const request = parseRunRequest(req.body);
  request.requestedBy = (res.locals.caller as Caller | undefined)?.name ?? null;
  existingJob(ctx, name);
  const started = await ctx.control.runJob(name, request);
  if (started.runIds[0]) res.setHeader('Location', `${API_PREFIX}/runs/${started.runIds[0]}`);
  sendJson(res, { job: name, execution_id: started.executionId, run_ids: started.runIds }, 202);
}

function setEnabled(enabled: boolean) {
  return (ctx: RouteContext, req: Request, res: Response): void => {
    const name = jobName(req);
    readQuery(req, []);
    bodyObject(req.body, [], true);
    existingJob(ctx, name);
    ctx.control.setJobEnabled(name, enabled);
    sendJson(res, jobSummaryJson(existingJob(ctx, name)));
  };
}

function jobRuns(ctx: RouteContext, req: Request, res: Response): void {
  const name = jobName(req);
  existingJob(ctx, name);
  listRunsResponse(ctx, req, res, { job: name });
}

const P = `${API_PREFIX}/jobs`;

export const jobRoutes: ApiRoute[] = [
  { method: 'get', path: P, role: 'read', body: false, handle: listJobs },
  { method: 'get', path: `${P}/:name`, role: 'read', body: false, handle: getJob },
  { method: 'put', path: `${P}/:name`, role: 'admin', body: true, handle: putJob },
  { method: 'delete', path: `${P}/:name`, role: 'admin', body: false, handle: deleteJob },
  { method: 'post', path: `${P}/:name/run`, role: 'operate', body: true, handle: runJob },
  { method: 'post', path: `${P}/:name/enable`, role: 'operate', body: true, handle: setEnabled(true) },
  { method: 'post', path: `${P}/:name/disable`, role: 'operate', body: true, handle: setEnabled(false) },
  { method: 'get', path: `${P}/:name/runs`, role: 'read', body: false, handle: jobRuns },
];
