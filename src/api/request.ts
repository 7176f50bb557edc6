import express, { type Request, type RequestHandler } from 'express';
import { ApiError } from './errors.js';

export const MAX_JOB_NAME_LENGTH = 128;

/**
 * Why `name` cannot be a job name, or null when it can. A job name becomes `jobs.d/<name>.json`,
 * so anything that could leave that directory or hide the file is refused.
 */
export function jobNameProblem(name: string): string | null {
  if (name === '') return 'is empty';
  if (name.length > MAX_JOB_NAME_LENGTH) return `is longer than ${MAX_JOB_NAME_LENGTH} characters`;
  if (name.startsWith('.')) return 'starts with a dot';
  if (name.includes('..')) return 'contains ".."';
  if (/[/\\]/.test(name)) return 'contains a path separator';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains a control character (NUL, newline, ...)';
  // The same character set the config loader accepts for file names (src/config/names.ts).
  if (!/^[A-Za-z0-9._-]+$/.test(name)) return 'may only contain letters, digits, ".", "_" and "-"';
  return null;
}

export function checkJobName(name: string): string {
  const problem = jobNameProblem(name);
  if (problem) throw new ApiError(400, 'invalid_name', `api: the job name ${problem}`, { name });
  return name;
}

/** The string value of a path parameter (express 5 gives strings; wildcards give arrays). */
export function pathParam(req: Request, key: string): string {
  const value: unknown = req.params[key];
  return Array.isArray(value) ? value.join('/') : String(value ?? '');
}

/** Query parameters as single strings; unknown or repeated parameters are a 400. */
export function readQuery(req: Request, allowed: readonly string[]): Record<string, string> {
  const query = req.query as Record<string, unknown>;
  const out: Record<string, string> = {};
  let unknown: string[] | null = null;
  let repeated: string | null = null;
  for (const key in query) {
    const value = query[key];
    if (!allowed.includes(key)) (unknown ??= []).push(key);
    else if (typeof value === 'string') out[key] = value;
    else repeated ??= key;
  }
  // Unknown parameters are reported first (all of them), then the first repeated one.
  if (unknown !== null)
    throw new ApiError(400, 'unknown_parameters', `api: unknown query parameters: ${unknown.join(', ')}`, {
      unknown_fields: unknown,
      allowed: [...allowed],
    });
  if (repeated !== null)
    throw new ApiError(
      400,
      'invalid_parameter',
      `api: the query parameter "${repeated}" must be given once`,
      {
        parameter: repeated,
      },
    );
  return out;
}

export function parseLimit(raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d{1,7}$/.test(raw) || Number(raw) < 1 || Number(raw) > max)
    throw new ApiError(400, 'invalid_parameter', `api: limit must be an integer from 1 to ${max}`, {
      parameter: 'limit',
    });
  return Number(raw);
}

export function parseEnum<T extends string>(
  raw: string | undefined,
  key: string,
  values: readonly T[],
): T | undefined {
  if (raw === undefined) return undefined;
  if (!values.includes(raw as T))
    throw new ApiError(400, 'invalid_parameter', `api: ${key} must be one of ${values.join(', ')}`, {
      parameter: key,
    });
  return raw as T;
}

/** ISO-8601 instant, normalized to the stored form (UTC with milliseconds). */
export function parseInstant(raw: string | undefined, key: string): string | undefined {
  if (raw === undefined) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : NaN;
  if (!Number.isFinite(ms))
    throw new ApiError(
      400,
      'invalid_parameter',
      `api: ${key} must be an ISO-8601 time like 2026-11-26T09:00:00Z`,
      {
        parameter: key,
      },
    );
  return new Date(ms).toISOString();
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Parses a JSON body (objects and arrays only) up to `maxBytes`; the content type was checked
 * before. No body leaves `req.body` undefined (routes decide whether that is fine).
 */
export function jsonBody(maxBytes: number): RequestHandler {
  const parse = express.json({ limit: maxBytes, strict: true, type: () => true });
  return (req, res, next) => {
    if (!hasBody(req)) {
      req.body = undefined;
      return next();
    }
    parse(req, res, next);
  };
}

/** The body as a plain object (undefined body = `{}` when `optional`), unknown fields refused. */
export function bodyObject(
  body: unknown,
  allowed: readonly string[],
  optional: boolean,
): Record<string, unknown> {
  if (body === undefined && optional) return {};
  if (body === undefined)
    throw new ApiError(400, 'missing_body', 'api: this request needs a JSON object body');
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new ApiError(400, 'invalid_body', 'api: the request body must be a JSON object');
  const record = body as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !allowed.includes(k));
  if (unknown.length > 0)
    throw new ApiError(
      400,
      'unknown_fields',
      `api: unknown fields in the request body: ${unknown.join(', ')}`,
      {
        unknown_fields: unknown,
        allowed: [...allowed],
      },
    );
  return record;
}
