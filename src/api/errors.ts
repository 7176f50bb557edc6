import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from '../core/log.js';
import { ControlError } from '../daemon/control.js';

/** Every error the API answers with: `{"error": {"code", "message", "details"}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> | null = null,
  ) {
    super(message);
  }
}

export function sendError(res: Response, error: ApiError): void {
  res
    .status(error.status)
    .json({ error: { code: error.code, message: error.message, details: error.details } });
}

/** body-parser / router error types (they carry a 4xx `status`) mapped to stable codes. */
const CLIENT_ERROR_CODES: Record<string, [code: string, message: string]> = {
  'entity.parse.failed': ['malformed_json', 'api: the request body is not valid JSON'],
  'entity.too.large': ['body_too_large', 'api: the request body is too large'],
  'encoding.unsupported': [
    'unsupported_encoding',
    'api: unsupported Content-Encoding; send identity or gzip',
  ],
  'charset.unsupported': ['unsupported_charset', 'api: unsupported charset; send the body as UTF-8 JSON'],
  'request.aborted': ['request_aborted', 'api: the request was aborted by the client'],
  'request.size.invalid': ['bad_request', 'api: the request body length does not match Content-Length'],
};

interface StatusError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  message?: unknown;
}

function clientErrorStatus(err: StatusError): number | null {
  const status = typeof err.status === 'number' ? err.status : err.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : null;
}

/** File-system errors of a write the daemon's user may not make, and what to tell the operator. */
const FILE_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EISDIR: 'a directory is in the way',
  ENOTDIR: 'a file is in the way',
  ENOSPC: 'no space left on the device',
};

/** A write that failed on the file system: still a 500, but one that says which path and why. */
function fileError(err: unknown): ApiError | null {
  const e = err as (NodeJS.ErrnoException & { dest?: unknown }) | null;
  const why = typeof e?.code === 'string' ? FILE_ERRORS[e.code] : undefined;
  if (why === undefined || typeof e?.path !== 'string') return null;
  const path = typeof e.dest === 'string' ? e.dest : e.path;
  return new ApiError(
    500,
    'not_writable',
    `api: the daemon cannot write ${path}: ${why}; make it writable by the user the daemon runs as`,
    { path, errno: e.code },
  );
}

/** Turns anything thrown by a route or a middleware into the error the client sees. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ControlError) return fromControlError(err);
  const onDisk = fileError(err);
  if (onDisk) return onDisk;
  const e = (err ?? {}) as StatusError;
  const status = clientErrorStatus(e);
  if (status === null) return new ApiError(500, 'internal', 'api: internal error; see the daemon log');
  const known = typeof e.type === 'string' ? CLIENT_ERROR_CODES[e.type] : undefined;
  if (known) return new ApiError(status, known[0], known[1]);
  if (err instanceof URIError)
    return new ApiError(400, 'bad_request', 'api: malformed percent-encoding in the URL');
  return new ApiError(
    status,
    'bad_request',
    `api: ${typeof e.message === 'string' ? e.message : 'bad request'}`,
  );
}

function fromControlError(err: ControlError): ApiError {
  const details =
    err.details && typeof err.details === 'object' && !Array.isArray(err.details)
      ? (err.details as Record<string, unknown>)
      : err.details === undefined
        ? null
        : { info: err.details };
  const status = { not_found: 404, conflict: 409, invalid: 400, unavailable: 503 }[err.code];
  return new ApiError(status, err.code, err.message, details);
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const apiError = toApiError(err);
    if (apiError.status >= 500)
      logger.error({ err, method: req.method, path: req.path }, `api: request failed: ${apiError.message}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, apiError);
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'not_found', `api: no route ${req.method} ${req.path}; see /api/v1/openapi.json`));
};

export function methodNotAllowed(allowed: string[]): RequestHandler {
  const allow = [...allowed.map((m) => m.toUpperCase()), 'OPTIONS'].join(', ');
  return (req, res, next) => {
    res.setHeader('Allow', allow);
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next(new ApiError(405, 'method_not_allowed', `api: ${req.method} is not allowed here; use ${allow}`));
  };
}
