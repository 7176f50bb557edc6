import type { Request, Response } from 'express';
import { RUN_STATUSES, TRIGGERS } from '../core/types.js';
import { ControlError, type RunListFilter } from '../daemon/control.js';
import type { Caller } from './auth.js';
import { ApiError } from './errors.js';
import { outputRoutes } from './routes-output.js';
import { bodyObject, parseEnum, parseInstant, parseLimit, pathParam, readQuery } from './request.js';
import { API_PREFIX, nextLink, type ApiRoute, type RouteContext } from './routes.js';
import { runDetailJson, runSummaryJson } from './views.js';

export { RUN_STATUSES, TRIGGERS };
export const RUNS_DEFAULT_LIMIT = 50;
export const RUNS_MAX_LIMIT = 1000;
const RUN_QUERY = ['job', 'node', 'status', 'trigger', 'since', 'until', 'limit', 'cursor'];

/** The filter with only the parameters given. */
function runFilter(query: Record<string, string>, fixed: Partial<RunListFilter>): RunListFilter {
  const filter: RunListFilter = { limit: parseLimit(query.limit, RUNS_DEFAULT_LIMIT, RUNS_MAX_LIMIT) };
  if (query.job !== undefined) filter.job = query.job;
  if (query.node !== undefined) filter.node = query.node;
  if (query.status !== undefined) filter.status = parseEnum(query.status, 'status', RUN_STATUSES);
  if (query.trigger !== undefined) filter.trigger = parseEnum(query.trigger, 'trigger', TRIGGERS);
  if (query.since !== undefined) filter.since = parseInstant(query.since, 'since');
  if (query.until !== undefined) filter.until = parseInstant(query.until, 'until');
  if (query.cursor !== undefined) filter.cursor = query.cursor;
  return Object.assign(filter, fixed);
}

async function queryRuns(ctx: RouteContext, filter: RunListFilter) {
  try {
    return await ctx.control.listRuns(filter);
  } catch (err) {
    if (err instanceof ControlError && err.code === 'invalid')
      throw new ApiError(400, 'invalid_parameter', `api: ${err.message}`);
    throw err;
  }
}

/** GET of a run list (all runs, or one job's with `fixed.job`), one page at a time. */
export async function listRunsResponse(
  ctx: RouteContext,
  req: Request,
  res: Response,
  fixed: Partial<RunListFilter>,
): Promise<void> {
  const query = readQuery(
    req,
    RUN_QUERY.filter((k) => !(k in fixed)),
  );
  const filter = runFilter(query, fixed);
  const page = await queryRuns(ctx, filter);
  if (page.nextCursor !== null)
    res.setHeader('Link', nextLink(req.path, { ...query, limit: String(filter.limit) }, page.nextCursor));
  res.json({ runs: page.runs.map(runSummaryJson), next_cursor: page.nextCursor });
}

function listRuns(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  return listRunsResponse(ctx, req, res, {});
}

function runId(req: Request): string {
  const id = pathParam(req, 'id');
  if (!/^[0-9A-Za-z_-]{1,64}$/.test(id))
    throw new ApiError(400, 'invalid_id', 'api: a run id is 1-64 letters, digits, "-" or "_"', { id });
  return id;
}

async function existingRun(ctx: RouteContext, id: string) {
  const run = await ctx.control.getRun(id);
  if (!run) throw new ApiError(404, 'not_found', `api: no run with id ${id}`);
  return run;
}

async function getRun(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  readQuery(req, []);
  res.json(runDetailJson(await existingRun(ctx, runId(req))));
}

async function cancelRun(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  readQuery(req, []);
  bodyObject(req.body, [], true);
  const id = runId(req);
  const run = await existingRun(ctx, id);
  const caller = res.locals.caller as Caller | undefined;
  // Executing on another member: a request in the store, answered 202 once stored there.
  if (!(await ctx.control.cancelRun(id, caller?.name ?? null))) {
    // Read again: the run may have finished since the read above.
    const { status } = (await ctx.control.getRun(id)) ?? run;
    throw new ApiError(409, 'not_running', `api: run ${id} is not running (status ${status})`, { status });
  }
  res.status(202).json({ id, job: run.job, cancel_requested: true });
}

const P = `${API_PREFIX}/runs`;

export const runRoutes: ApiRoute[] = [
  { method: 'get', path: P, role: 'read', handle: listRuns },
  { method: 'get', path: `${P}/:id`, role: 'read', handle: getRun },
  { method: 'post', path: `${P}/:id/cancel`, role: 'operate', audit: 'run.cancel', handle: cancelRun },
  ...outputRoutes,
];
