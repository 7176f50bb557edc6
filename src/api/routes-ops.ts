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
  res.json(ctx.insecureNoAuth ? { status: 'ok', warning: INSECURE_NO_AUTH_WARNING } : { status: 'ok' });
}

export const opsRoutes: ApiRoute[] = [
  { method: 'get', path: '/healthz', role: null, handle: health },
  { method: 'get', path: '/metrics', role: 'read', handle: metricsText },
  {
    method: 'get',
    path: `${API_PREFIX}/openapi.json`,
    role: null,
    handle: (_ctx, _req, res) => void res.json(openApiDocument()),
  },
];
