import type { Request, Response } from 'express';
import type { Logger } from '../core/log.js';
import type { DaemonControl } from '../daemon/control.js';
import type { Role } from './auth.js';

export const API_PREFIX = '/api/v1';

export interface RouteContext {
  control: DaemonControl;
  logger: Logger;
}

/** One route of the API; the server, the 405 answers and the OpenAPI test all read this table. */
export interface ApiRoute {
  method: 'get' | 'put' | 'post' | 'delete';
  /** express path syntax (`/api/v1/jobs/:name`). */
  path: string;
  /** Least role needed; null = no authentication (health check, OpenAPI document). */
  role: Role | null;
  /** Whether the route reads a JSON body. */
  body: boolean;
  handle(ctx: RouteContext, req: Request, res: Response): void | Promise<void>;
}

/** `/api/v1/jobs/:name` → `/api/v1/jobs/{name}` */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z_]+)/g, '{$1}');
}

/** A `Link` header value for the next page: the same path and filters with `cursor` set. */
export function nextLink(path: string, query: Record<string, string>, cursor: string): string {
  let search = '';
  for (const [key, value] of Object.entries({ ...query, cursor }))
    search += `${search === '' ? '' : '&'}${formEncode(key)}=${formEncode(value)}`;
  return `<${path}?${search}>; rel="next"`;
}

/** Characters that application/x-www-form-urlencoded leaves as they are. */
const FORM_PLAIN = /^[A-Za-z0-9*._-]*$/;
/** Those encodeURIComponent leaves alone but the form encoding escapes, and its space. */
const FORM_EXTRA = /[!'()~]|%20/g;
const FORM_ESCAPES: Record<string, string> = {
  '!': '%21',
  "'": '%27',
  '(': '%28',
  ')': '%29',
  '~': '%7E',
  '%20': '+',
};

/**
 * What URLSearchParams#toString() writes for one name or value, without building one per
 * request (the object and its serializer cost more than the rest of the header): names,
 * job names and cursors are plain, other text is percent-encoded as UTF-8 with "+" for spaces.
 */
export function formEncode(text: string): string {
  if (FORM_PLAIN.test(text)) return text;
  try {
    return encodeURIComponent(text).replace(FORM_EXTRA, (c) => FORM_ESCAPES[c]!);
  } catch {
    // A lone surrogate: URLSearchParams writes U+FFFD for it.
    return new URLSearchParams({ v: text }).toString().slice(2);
  }
}
