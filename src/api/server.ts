import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { silentLogger, type Logger } from '../core/log.js';
import type { DaemonControl } from '../daemon/control.js';
import type { DeadLetter } from '../store/store.js';
import { auditWrites } from './audit.js';
import { authorize, isLoopbackHost, type ApiToken, type Caller } from './auth.js';
import { ApiError, errorHandler, methodNotAllowed, notFound } from './errors.js';
import {
  corsHeaders,
  hostGuard,
  requireJsonContentType,
  sameOriginWrites,
  type SiteRules,
} from './guards.js';
import { jsonBody } from './request.js';
import { API_PREFIX, type ApiRoute, type RouteContext } from './routes.js';
import { auditRoutes } from './routes-audit.js';
import { execRoutes } from './routes-exec.js';
import { jobRoutes } from './routes-jobs.js';
import { legacyRoutes } from './routes-legacy.js';
import { metaRoutes } from './routes-meta.js';
import { nodeRoutes } from './routes-nodes.js';
import { opsRoutes } from './routes-ops.js';
import { runRoutes } from './routes-runs.js';
import { uiRouter } from './ui.js';
import { INSECURE_NO_AUTH_WARNING } from './warnings.js';

export { loadApiTokens, parseApiTokens, sha256Hex, type ApiToken, type Role } from './auth.js';

export interface ApiOptions {
  host: string;
  /** 0 = a random free port (tests). */
  port: number;
  /** null = no authentication, which is only allowed on a loopback address (or insecureNoAuth). */
  tokens: ApiToken[] | null;
  logger?: Logger;
  /** Largest accepted request body; default 1 MiB. */
  maxBodyBytes?: number;
  /** Host names (NAME or NAME:PORT) answered besides the listen address and loopback names. */
  allowedHosts?: string[];
  /** Browser origins allowed to call the API (CORS) and to write through it. */
  corsOrigins?: string[];
  /** Listen on a non-loopback address without tokens: everyone who can connect is admin. */
  insecureNoAuth?: boolean;
  /** The API's public URL (--api-base-url): its origin may write too. */
  baseUrl?: string;
  /** The newest dead-lettered notifications, for GET /api/v1/dead-letters. */
  deadLetters?: (limit: number) => Promise<DeadLetter[]>;
  /** Serve the web console at /ui/ (default true; --no-ui turns it off). */
  ui?: boolean;
}

export interface ApiServer {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  /** Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Every route the API serves. */
export const API_ROUTES: readonly ApiRoute[] = [
  ...opsRoutes,
  ...metaRoutes,
  ...jobRoutes,
  ...runRoutes,
  ...nodeRoutes,
  ...auditRoutes,
  ...execRoutes,
  ...legacyRoutes,
];

const WRITE_METHODS = new Set(['POST', 'PUT', 'DELETE']);

export { INSECURE_NO_AUTH_WARNING };

/** Security headers on every answer, and the access log (the token's name, never the token). */
function commonHeaders(logger: Logger): RequestHandler {
  const logReads = logger.isLevelEnabled('debug');
  return (req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    // Reads are logged at debug only: no listener when that level is off.
    if (logReads || WRITE_METHODS.has(req.method)) {
      const started = process.hrtime.bigint();
      res.on('finish', () => logRequest(logger, req, res, started));
    }
    next();
  };
}

function logRequest(logger: Logger, req: Request, res: Response, started: bigint): void {
  const caller = res.locals.caller as Caller | undefined;
  const entry = {
    method: req.method,
    path: req.path,
    status: res.statusCode,
    ms: Number(process.hrtime.bigint() - started) / 1e6,
    token: caller?.name ?? null,
  };
  if (WRITE_METHODS.has(req.method)) logger.info(entry, 'api: request');
  else logger.debug(entry, 'api: request');
}

/** Express 5 passes a rejected promise of a handler to the error handler itself. */
function handlerOf(route: ApiRoute, ctx: RouteContext): RequestHandler {
  return (req, res) => route.handle(ctx, req, res);
}

function routeChain(route: ApiRoute, ctx: RouteContext, options: ApiOptions): RequestHandler[] {
  const write = route.method !== 'get';
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return [
    ...(write ? [requireJsonContentType] : []),
    // Before authorize, so a token refused for its role is recorded too.
    ...(route.audit ? [auditWrites(ctx, route.audit)] : []),
    authorize(options.tokens, route.role),
    ...(write ? [jsonBody(maxBody)] : []),
    handlerOf(route, ctx),
  ];
}

/** The routes on an express router; another method on a known path is a 405 with an Allow header. */
function apiRouter(ctx: RouteContext, options: ApiOptions): express.Router {
  const router = express.Router({ caseSensitive: true });
  const methodsOf = new Map<string, string[]>();
  for (const route of API_ROUTES) {
    router[route.method](route.path, ...routeChain(route, ctx, options));
    methodsOf.set(route.path, [...(methodsOf.get(route.path) ?? []), route.method]);
  }
  for (const [path, methods] of methodsOf)
    router.all(path, methodNotAllowed(methods.includes('get') ? [...methods, 'head'] : methods));
  return router;
}

/** A write to a name with a raw "/" in it lands here, not on a 404: tell the client why. */
const nestedJobName: RequestHandler = (req, _res, next) => {
  if (req.method !== 'PUT' && req.method !== 'DELETE') return next();
  next(new ApiError(400, 'invalid_name', 'api: the job name contains a path separator'));
};

export function buildApiApp(control: DaemonControl, options: ApiOptions, site: SiteRules): Express {
  const logger = options.logger ?? silentLogger();
  const ctx: RouteContext = {
    control,
    logger,
    insecureNoAuth: site.insecureNoAuth,
    deadLetters: options.deadLetters,
  };
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(commonHeaders(logger));
  app.use(hostGuard(site));
  app.use(corsHeaders(site));
  app.use(sameOriginWrites(site));
  if (options.ui !== false) app.use(uiRouter());
  app.use(apiRouter(ctx, options));
  app.all(`${API_PREFIX}/jobs/*rest`, nestedJobName);
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}

/** Answers for requests node:http could not parse: [status line, code, message]. */
const CLIENT_ERRORS: Record<string, [string, string, string]> = {
  HPE_HEADER_OVERFLOW: [
    '431 Request Header Fields Too Large',
    'headers_too_large',
    'api: request headers too large',
  ],
  ERR_HTTP_REQUEST_TIMEOUT: [
    '408 Request Timeout',
    'request_timeout',
    'api: the request took too long to arrive',
  ],
};

function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, message] = CLIENT_ERRORS[err.code ?? ''] ?? [
    '400 Bad Request',
    'bad_request',
    'api: malformed HTTP request',
  ];
  const body = JSON.stringify({ error: { code, message, details: null } });
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function baseUrl(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

function checkListenSafety(options: ApiOptions, logger: Logger | undefined): void {
  if (options.tokens !== null || isLoopbackHost(options.host)) return;
  if (!options.insecureNoAuth)
    throw new Error(
      `api: refusing to listen on ${options.host} without API tokens; pass --api-tokens FILE, ` +
        'or listen on a loopback address such as 127.0.0.1 ' +
        '(--api-insecure-no-auth overrides this: then anyone who can connect is admin)',
    );
  logger?.warn({ host: options.host }, `api: WARNING: ${INSECURE_NO_AUTH_WARNING}`);
}

/** Starts the REST API (SPEC §11) on `options.host:options.port`. */
export async function startApiServer(control: DaemonControl, options: ApiOptions): Promise<ApiServer> {
  checkListenSafety(options, options.logger);
  // The port is known only once listening (port 0 in tests): the rules read it then.
  const site: SiteRules = {
    listenHost: options.host,
    port: options.port,
    allowedHosts: options.allowedHosts ?? [],
    corsOrigins: options.corsOrigins ?? [],
    baseUrl: options.baseUrl ?? null,
    insecureNoAuth: options.tokens === null && !isLoopbackHost(options.host),
  };
  const server = createServer(buildApiApp(control, options, site));
  server.on('clientError', answerClientError);
  let address: AddressInfo;
  try {
    address = await listen(server, options.port, options.host);
  } catch (err) {
    throw new Error(`api: cannot listen on ${options.host}:${options.port}: ${(err as Error).message}`);
  }
  site.port = address.port;
  options.logger?.info({ url: baseUrl(address), auth: options.tokens !== null }, 'api: listening');
  let closing: Promise<void> | null = null;
  return {
    url: baseUrl(address),
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
