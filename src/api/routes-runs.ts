import type { Request, Response } from 'express';
import { RUN_STATUSES, TRIGGERS } from '../core/types.js';
import { InvalidRunQueryError } from '../store/queries.js';
import { runListJson } from '../store/summary-pages.js';
import type { RunFilter, RunJsonPage } from '../store/store.js';
import { ApiError } from './errors.js';
import { bodyObject, parseEnum, parseInstant, parseLimit, pathParam, readQuery } from './request.js';
import { API_PREFIX, nextLink, type ApiRoute, type RouteContext } from './routes.js';
import { runDetailJson } from './views.js';
import { sendJson, sendJsonText } from './respond.js';

export { RUN_STATUSES, TRIGGERS };
export const RUNS_DEFAULT_LIMIT = 50;
export const RUNS_MAX_LIMIT = 1000;
const RUN_QUERY = ['job', 'node', 'status', 'trigger', 'since', 'until', 'limit', 'cursor'];

/** The filter with only the parameters given: no undefined-valued keys to delete afterwards. */
function runFilter(query: Record<string, string>, fixed: Partial<RunFilter>): RunFilter {
  const filter: RunFilter = {
    limit: parseLimit(query.limit, RUNS_DEFAULT_LIMIT, RUNS_MAX_LIMIT),
    withOutput: false,
  };
  if (query.job !== undefined) filter.job = query.job;
  if (query.node !== undefined) filter.node = query.node;
  if (query.status !== undefined) filter.status = parseEnum(query.status, 'status', RUN_STATUSES);
  if (query.trigger !== undefined) filter.trigger = parseEnum(query.trigger, 'trigger', TRIGGERS);
  if (query.since !== undefined) filter.since = parseInstant(query.since, 'since');
  if (query.until !== undefined) filter.until = parseInstant(query.until, 'until');
  if (query.cursor !== undefined) filter.cursor = query.cursor;
  return Object.assign(filter, fixed);
}

function queryRuns(ctx: RouteContext, filter: RunFilter): RunJsonPage {
  try {
    return ctx.control.store.queryRunsJson(filter);
  } catch (err) {
    if (err instanceof InvalidRunQueryError)
      throw new ApiError(400, 'invalid_parameter', err.message.replace(/^store: /, 'api: '));
    throw err;
  }
}

/** GET of a run list (all runs, or one job's with `fixed.job`), one page at a time. */
export function listRunsResponse(
  ctx: RouteContext,
  req: Request,
  res: Response,
  fixed: Partial<RunFilter>,
): void {
  const allowed = RUN_QUERY.filter((k) => !(k in fixed));
  const query = readQuery(req, allowed);
  const filter = runFilter(query, fixed);
  const page = queryRuns(ctx, filter);
  if (page.nextCursor !== null)
    res.setHeader('Link', nextLink(req.path, { ...query, limit: String(filter.limit) }, page.nextCursor));
  // The store serializes each run summary; only the envelope is built here.
  sendJsonText(res, runListJson(page));
}

function listRuns(ctx: RouteContext, req: Request, res: Response): void {
  listRunsResponse(ctx, req, res, {});
}

function runId(req: Request): string {
  const id = pathParam(req, 'id');
  if (!/^[0-9A-Za-z_-]{1,64}$/.test(id))
    throw new ApiError(400, 'invalid_id', 'api: a run id is 1-64 letters, digits, "-" or "_"', { id });
  return id;
}

function getRun(ctx: RouteContext, req: Request, res: Response): void {
  readQuery(req, []);
  const id = runId(req);
  const run = ctx.control.store.getRun(id);
  if (!run) throw new ApiError(404, 'not_found', `api: no run with id ${id}`);
  sendJson(res, runDetailJson(run));
}

function cancelRun(ctx: RouteContext, req: Request, res: Response): void {
  readQuery(req, []);
  bodyObject(req.body, [], true);
  const id = runId(req);
  const run = ctx.control.store.getRun(id);
  if (!run) throw new ApiError(404, 'not_found', `api: no run with id ${id}`);
  if (!ctx.control.cancelRun(id))
    throw new ApiError(409, 'not_running', `api: run ${id} is not running (status ${run.status})`, {
      status: run.status,
    });
  sendJson(res, { id, job: run.job, cancel_requested: true }, 202);
}

const P = `${API_PREFIX}/runs`;

export const runRoutes: ApiRoute[] = [
  { method: 'get', path: P, role: 'read', body: false, handle: listRuns },
  { method: 'get', path: `${P}/:id`, role: 'read', body: false, handle: getRun },
  { method: 'post', path: `${P}/:id/cancel`, role: 'operate', body: true, handle: cancelRun },
];
