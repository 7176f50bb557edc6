import type { Request, Response } from 'express';
import { ApiError } from './errors.js';
import { pathParam, readQuery } from './request.js';
import { API_PREFIX, type ApiRoute, type RouteContext } from './routes.js';
import { configProblemJson, nodeJson } from './views.js';

async function listNodes(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  readQuery(req, []);
  res.json({ nodes: (await ctx.control.listNodes()).map(nodeJson) });
}

async function getNode(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  readQuery(req, []);
  const name = pathParam(req, 'name');
  const node = await ctx.control.getNode(name);
  if (!node) throw new ApiError(404, 'not_found', `api: no node named "${name}"`);
  res.json(nodeJson(node));
}

function configErrors(ctx: RouteContext, req: Request, res: Response): void {
  readQuery(req, []);
  res.json({ errors: ctx.control.configErrors().map(configProblemJson) });
}

/** Resource pools (SPEC §16): holders and waiters name runs and jobs, nothing secret. */
async function resources(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  readQuery(req, []);
  res.json({ pools: (await ctx.control.resources?.()) ?? [] });
}

export const nodeRoutes: ApiRoute[] = [
  { method: 'get', path: `${API_PREFIX}/resources`, role: 'read', handle: resources },
  { method: 'get', path: `${API_PREFIX}/nodes`, role: 'read', handle: listNodes },
  { method: 'get', path: `${API_PREFIX}/nodes/:name`, role: 'read', handle: getNode },
  { method: 'get', path: `${API_PREFIX}/config/errors`, role: 'read', handle: configErrors },
];
