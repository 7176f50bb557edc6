import type { Request, RequestHandler, Response } from 'express';
import type { Caller } from './auth.js';
import type { RouteContext } from './routes.js';

/** The job name or run id a write acts on. */
function targetOf(req: Request): string {
  const params = req.params as Record<string, string | undefined>;
  return params.name ?? params.id ?? req.path;
}

/**
 * Records a write once it is answered: who (the token's name), what, on what, from where and the
 * answer's status. Only callers that presented a known token (or every caller when the API runs
 * without tokens) are recorded, so a flood of unauthenticated requests cannot fill the table.
 */
export function auditWrites(ctx: RouteContext, action: string): RequestHandler {
  return (req, res, next) => {
    // Read now: the router restores req.params when an error leaves the route.
    const target = targetOf(req);
    res.on('finish', () => record(ctx, action, target, req, res));
    next();
  };
}

function record(ctx: RouteContext, action: string, target: string, req: Request, res: Response): void {
  const caller = res.locals.caller as Caller | undefined;
  if (caller === undefined) return;
  const entry = {
    at: new Date().toISOString(),
    token: caller.name,
    action,
    // A route may name what it acted on once it knows (exec: the execution id it started).
    target: (res.locals.auditTarget as string | undefined) ?? target,
    address: req.socket.remoteAddress ?? null,
    status: res.statusCode,
  };
  ctx.logger.info({ audit: entry }, `api: audit ${action} ${entry.target} by ${caller.name ?? '(no token)'}`);
  ctx.control
    .recordAudit(entry)
    .catch((err: unknown) =>
      ctx.logger.error({ err, audit: entry }, 'api: the audit row could not be stored (it is in this log)'),
    );
}
