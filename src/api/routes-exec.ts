/** `POST /api/v1/exec` (admin): an ad-hoc command on the nodes a policy selects (SPEC §17). */
import type { Request, Response } from 'express';
import { ADHOC_FIELDS, fieldOf, parseAdhocBody, type AdhocSpec } from '../config/parse-adhoc.js';
import { describeCommand } from '../daemon/adhoc.js';
import type { Caller } from './auth.js';
import { ApiError } from './errors.js';
import { bodyObject, readQuery } from './request.js';
import { API_PREFIX, type ApiRoute, type RouteContext } from './routes.js';
import { configProblemJson } from './views.js';

/** The body, checked with the job file's parsers; a 400 names the field of the first problem. */
export function parseExecRequest(body: unknown): AdhocSpec {
  const record = bodyObject(body, ADHOC_FIELDS, false);
  const { spec, problems } = parseAdhocBody(record);
  if (spec) return spec;
  const first = problems[0]!;
  const field = fieldOf(first.path);
  throw new ApiError(400, 'invalid_body', `api: exec: ${first.message}`, {
    field: field === '' ? null : field,
    problems: problems.map(configProblemJson),
  });
}

async function exec(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  readQuery(req, []);
  const caller = res.locals.caller as Caller | undefined;
  const spec = parseExecRequest(req.body);
  const requestedBy = caller?.name ?? null;
  const started = await ctx.control.runAdhoc({ spec, requestedBy });
  // The audit row points at the execution: its runs carry the same id.
  res.locals.auditTarget = started.executionId;
  ctx.logger.info(
    {
      execution: started.executionId,
      runs: started.runIds,
      requested_by: requestedBy,
      command: describeCommand(spec),
    },
    `api: ad-hoc command by ${requestedBy ?? '(no token)'}`,
  );
  if (started.runIds[0]) res.setHeader('Location', `${API_PREFIX}/runs/${started.runIds[0]}`);
  res.status(202).json({ job: started.job.name, execution_id: started.executionId, run_ids: started.runIds });
}

export const execRoutes: ApiRoute[] = [
  { method: 'post', path: `${API_PREFIX}/exec`, role: 'admin', audit: 'adhoc.exec', handle: exec },
];
