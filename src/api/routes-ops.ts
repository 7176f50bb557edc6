import type { Request, Response } from 'express';
import type { DaemonControl } from '../daemon/control.js';
import type { OutboxSink } from '../store/store.js';
import { openApiDocument } from './openapi.js';
import { readQuery } from './request.js';
import { API_PREFIX, type ApiRoute, type RouteContext } from './routes.js';
import { sendJson } from './respond.js';

/**
 * Gauges that are a view of current state are refreshed at scrape time, so a scrape always
 * matches what the API shows (the daemon may set them too; both write the same truth).
 */
function refreshStateGauges(control: DaemonControl): void {
  const { metrics } = control;
  // Same rule as the daemon's own update: every node that is not down counts as up.
  const nodes = control.listNodes();
  const down = nodes.filter((n) => !n.health.up).length;
  metrics.nodesUp.set(nodes.length - down);
  metrics.nodesDown.set(down);
  const failingFiles = new Set(
    control
      .configErrors()
      .filter((p) => p.severity === 'error')
      .map((p) => p.file),
  );
  metrics.configErrors.set(failingFiles.size);
  const backlog = control.store.outboxBacklog();
  for (const [sink, count] of Object.entries(backlog))
    metrics.outboxBacklog.set({ sink: sink as OutboxSink }, count);
}

async function metricsText(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  readQuery(req, []);
  refreshStateGauges(ctx.control);
  const registry = ctx.control.metrics.registry;
  const text = await registry.metrics();
  res.setHeader('Content-Type', registry.contentType);
  res.send(text);
}

export const opsRoutes: ApiRoute[] = [
  {
    method: 'get',
    path: '/healthz',
    role: null,
    body: false,
    handle: (_ctx, _req, res) => sendJson(res, { status: 'ok' }),
  },
  { method: 'get', path: '/metrics', role: 'read', body: false, handle: metricsText },
  {
    method: 'get',
    path: `${API_PREFIX}/openapi.json`,
    role: null,
    body: false,
    handle: (_ctx, _req, res) => sendJson(res, openApiDocument()),
  },
];
