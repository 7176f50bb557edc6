import type { Request, Response } from 'express';
import { ApiError } from './errors.js';
import { parseLimit, readQuery } from './request.js';
import { API_PREFIX, nextLink, type ApiRoute, type RouteContext } from './routes.js';

export const AUDIT_DEFAULT_LIMIT = 50;
export const AUDIT_MAX_LIMIT = 1000;

function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const text = /^[A-Za-z0-9_-]{1,40}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = /^a1:(\d{1,15})$/.exec(text);
  if (!match)
    throw new ApiError(400, 'invalid_parameter', 'api: cursor is not one this API handed out', {
      parameter: 'cursor',
    });
  return Number(match[1]);
}

function encodeCursor(id: number): string {
  return Buffer.from(`a1:${id}`, 'utf8').toString('base64url');
}

async function listAudit(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  const query = readQuery(req, ['limit', 'cursor']);
  const limit = parseLimit(query.limit, AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT);
  const page = await ctx.control.listAudit({ limit, before: decodeCursor(query.cursor) });
  const next = page.nextBefore === null ? null : encodeCursor(page.nextBefore);
  if (next !== null) res.setHeader('Link', nextLink(req.path, { ...query, limit: String(limit) }, next));
  res.json({
    entries: page.entries.map((e) => ({
      id: e.id,
      at: e.at,
      token: e.token,
      action: e.action,
      target: e.target,
      address: e.address,
      status: e.status,
    })),
    next_cursor: next,
  });
}

export const auditRoutes: ApiRoute[] = [
  { method: 'get', path: `${API_PREFIX}/audit`, role: 'admin', handle: listAudit },
];
