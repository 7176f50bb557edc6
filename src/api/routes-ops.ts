import type { Request, Response } from 'express';
import { openApiDocument } from './openapi.js';
import { readQuery } from './request.js';
import { API_PREFIX, type ApiRoute, type RouteContext } from './routes.js';
import { INSECURE_NO_AUTH_WARNING } from './warnings.js';

async function metricsText(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  readQuery(req, []);
  const { contentType, text } = await ctx.control.metricsText();
  res.setHeader('Content-Type', contentType);
  res.send(text);
}

function health(ctx: RouteContext, _req: Request, res: Response): void {
  const { role, problem, configProblem } = ctx.control.clusterHealth();
  // Still 200 when degraded: the member is alive and runs; a health check restarting it would not help.
  res.json({
    status: configProblem === undefined ? 'ok' : 'degraded',
    role,
    ...(problem === undefined ? {} : { lease_problem: problem }),
    ...(configProblem === undefined ? {} : { config_problem: configProblem }),
    ...(ctx.insecureNoAuth ? { warning: INSECURE_NO_AUTH_WARNING } : {}),
  });
}

async function cluster(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  readQuery(req, []);
  res.json(await ctx.control.cluster());
}

export const opsRoutes: ApiRoute[] = [
  { method: 'get', path: '/healthz', role: null, handle: health },
  { method: 'get', path: '/metrics', role: 'read', handle: metricsText },
  { method: 'get', path: `${API_PREFIX}/cluster`, role: 'read', handle: cluster },
  {
    method: 'get',
    path: `${API_PREFIX}/openapi.json`,
    role: null,
    handle: (_ctx, _req, res) => void res.json(openApiDocument()),
  },
];
