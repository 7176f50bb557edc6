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

/** Turns anything thrown by a route or a middleware into the error the client sees. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ControlError) return fromControlError(err);
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
      logger.error({ err, method: req.method, path: req.path }, 'api: request failed');
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
