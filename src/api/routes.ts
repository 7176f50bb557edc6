import type { Request, Response } from 'express';
import type { Logger } from '../core/log.js';
import type { DaemonControl } from '../daemon/control.js';
import type { DeadLetter } from '../store/store.js';
import type { Role } from './auth.js';

export const API_PREFIX = '/api/v1';

export interface RouteContext {
  control: DaemonControl;
  logger: Logger;
  /** The API runs without tokens on a non-loopback address: /healthz says so. */
  insecureNoAuth: boolean;
  /** The newest dead-lettered notifications (absent: none to show). */
  deadLetters?: (limit: number) => Promise<DeadLetter[]>;
}

/** One route of the API; the server, the 405 answers and the OpenAPI test all read this table. */
export interface ApiRoute {
  method: 'get' | 'put' | 'post' | 'delete';
  /** express path syntax (`/api/v1/jobs/:name`). */
  path: string;
  /** Least role needed; null = no authentication (health check, OpenAPI document). */
  role: Role | null;
  /** Writes only: the action the audit log records (e.g. "job.run"). */
  audit?: string;
  handle(ctx: RouteContext, req: Request, res: Response): void | Promise<void>;
}

/** `/api/v1/jobs/:name` → `/api/v1/jobs/{name}` */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z_]+)/g, '{$1}');
}

/** A `Link` header value for the next page: the same path and filters with `cursor` set. */
export function nextLink(path: string, query: Record<string, string>, cursor: string): string {
  return `<${path}?${new URLSearchParams({ ...query, cursor }).toString()}>; rel="next"`;
}
