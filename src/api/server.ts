import { createServer, IncomingMessage, ServerResponse, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express, {
  type ErrorRequestHandler,
  type Express,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { silentLogger, type Logger } from '../core/log.js';
import type { DaemonControl } from '../daemon/control.js';
import { authorize, isLoopbackHost, type ApiToken, type Caller } from './auth.js';
import { ApiError, errorHandler, methodNotAllowed, notFound } from './errors.js';
import { jsonBody } from './request.js';
import { RouteTable } from './route-table.js';
import { API_PREFIX, type ApiRoute, type RouteContext } from './routes.js';
import { jobRoutes } from './routes-jobs.js';
import { legacyRoutes } from './routes-legacy.js';
import { nodeRoutes } from './routes-nodes.js';
import { opsRoutes } from './routes-ops.js';
import { runRoutes } from './routes-runs.js';

export { loadApiTokens, parseApiTokens, sha256Hex, type ApiToken, type Role } from './auth.js';

export interface ApiOptions {
  host: string;
  /** 0 = a random free port (tests). */
  port: number;
  /** null = no authentication, which is only allowed on a loopback address. */
  tokens: ApiToken[] | null;
  logger?: Logger;
  /** Largest accepted request body; default 1 MiB. */
  maxBodyBytes?: number;
}

export interface ApiServer {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  /** Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Every route the API serves, in matching order. */
export const API_ROUTES: readonly ApiRoute[] = [
  ...opsRoutes,
  ...jobRoutes,
  ...runRoutes,
  ...nodeRoutes,
  ...legacyRoutes,
];

/**
 * Security headers on every answer, and the access log: one handler, as it runs on every
 * request.
 */
function commonHeaders(logger: Logger): RequestHandler {
  const logReads = logger.isLevelEnabled('debug');
  const logWrites = logger.isLevelEnabled('info');
  return (req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    const read = req.method === 'GET' || req.method === 'HEAD';
    // A listener per request is measurable on the hot read routes: only add it when it logs.
    if (read ? logReads : logWrites) logWhenFinished(logger, req, res, read);
    next();
  };
}

function logWhenFinished(logger: Logger, req: Request, res: Response, read: boolean): void {
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const caller = res.locals.caller as Caller | undefined;
    const entry = {
      method: req.method,
      path: req.path,
      status: res.statusCode,
      ms: Number(process.hrtime.bigint() - started) / 1e6,
      token: caller?.name ?? null, // the token's NAME; the token itself is never logged
    };
    if (read) logger.debug(entry, 'api: request');
    else logger.info(entry, 'api: request');
  });
}

/** The handlers of one route: authorization, the body parser when it reads one, the route. */
function routeChain(route: ApiRoute, ctx: RouteContext, tokens: ApiToken[] | null, maxBody: number) {
  // Synchronous handlers answer in the same tick; async ones hand their rejection to next().
  const run: RequestHandler = (req, res, next) => {
    try {
      void route.handle(ctx, req, res)?.catch(next);
    } catch (err) {
      next(err);
    }
  };
  return [authorize(tokens, route.role), ...(route.body ? [jsonBody(maxBody)] : []), run];
}

function runChain(chain: readonly RequestHandler[], req: Request, res: Response, done: NextFunction): void {
  let i = 0;
  const next: NextFunction = (err?: unknown) => {
    if (err !== undefined && err !== null) return done(err);
    const handler = chain[i++];
    if (handler) handler(req, res, next);
    else done();
  };
  next();
}

/**
 * One middleware for every API route: the route table finds the path, the method picks the
 * route (HEAD is served by GET), another method on a known path is a 405 with an Allow header.
 */
function dispatch(
  routes: readonly ApiRoute[],
  chainOf: (route: ApiRoute) => RequestHandler[],
): RequestHandler {
  const table = new RouteTable(routes);
  const chains = new Map(routes.map((r) => [r, chainOf(r)]));
  const guards = new Map<readonly ApiRoute[], RequestHandler>();
  return (req, res, next) => {
    const found = table.match(req.path);
    if (!found) return next();
    const method = req.method === 'HEAD' ? 'get' : req.method.toLowerCase();
    const route = found.routes.find((r) => r.method === method);
    if (!route) return guardOf(guards, found.routes)(req, res, next);
    req.params = found.params;
    runChain(chains.get(route)!, req, res, next);
  };
}

function guardOf(
  guards: Map<readonly ApiRoute[], RequestHandler>,
  routes: readonly ApiRoute[],
): RequestHandler {
  let guard = guards.get(routes);
  if (!guard) {
    const methods = routes.map((r) => r.method);
    guards.set(routes, (guard = methodNotAllowed(methods.includes('get') ? [...methods, 'head'] : methods)));
  }
  return guard;
}

/** A write to a name with a raw "/" in it lands here, not on a 404: tell the client why. */
const nestedJobName: RequestHandler = (req, _res, next) => {
  if (req.method !== 'PUT' && req.method !== 'DELETE') return next();
  next(new ApiError(400, 'invalid_name', 'api: the job name contains a path separator'));
};

/** The request listener, and the express app it falls back to for what no route serves. */
interface ApiApp {
  app: Express;
  listener: (req: IncomingMessage, res: ServerResponse) => void;
}

function buildApiApp(control: DaemonControl, options: ApiOptions): ApiApp {
  const logger = options.logger ?? silentLogger();
  const ctx: RouteContext = { control, logger };
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const headers = commonHeaders(logger);
  const routes = dispatch(API_ROUTES, (route) => routeChain(route, ctx, options.tokens, maxBody));
  const onError = errorHandler(logger);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.set('case sensitive routing', true);
  // Only what no route serves reaches the app: directDispatch ran the headers and the routes.
  app.all(`${API_PREFIX}/jobs/*rest`, nestedJobName);
  app.use(notFound);
  app.use(onError);
  return { app, listener: directDispatch(app, headers, routes, onError) };
}

/**
 * Every request gets the common headers here, and one for an API route goes straight to its
 * handlers; express's app and router run only for what no route serves (404s, the nested-name
 * answer). On the hot read routes their per-request closures and layer walk cost about a tenth
 * of the whole answer. What app.handle and the router set up, and the handlers read, is set here
 * the same way.
 */
function directDispatch(
  app: Express,
  headers: RequestHandler,
  routes: RequestHandler,
  onError: ErrorRequestHandler,
): (req: IncomingMessage, res: ServerResponse) => void {
  const ignore = () => undefined;
  return (rawReq, rawRes) => {
    // Both were built with express's prototypes (expressClasses).
    const req = rawReq as Request;
    const res = rawRes as Response;
    req.res = res;
    res.req = req;
    res.locals = Object.create(null) as Response['locals'];
    req.originalUrl = req.url;
    req.baseUrl = '';
    try {
      headers(req, res, ignore);
      routes(req, res, (err?: unknown) => (err ? onError(err, req, res, ignore) : app(req, res)));
    } catch (err) {
      // e.g. a malformed escape in a path parameter; express's router would catch it the same way.
      onError(err, req, res, ignore);
    }
  };
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

/**
 * Request and response classes whose prototypes are the app's own request and response. express
 * gives every request those prototypes with Object.setPrototypeOf; on an object created with
 * another prototype that swap costs more than a whole small answer (V8 gives the object a new
 * hidden class, and node's HTTP code then runs on objects of an unexpected shape). On objects
 * built with the right prototype express's swap changes nothing.
 */
function expressClasses(app: Express): {
  IncomingMessage: typeof IncomingMessage;
  ServerResponse: typeof ServerResponse;
} {
  function ApiRequest(this: IncomingMessage, ...args: unknown[]): void {
    Reflect.apply(IncomingMessage, this, args);
  }
  ApiRequest.prototype = app.request;
  function ApiResponse(this: ServerResponse, ...args: unknown[]): void {
    Reflect.apply(ServerResponse, this, args);
  }
  ApiResponse.prototype = app.response;
  return {
    IncomingMessage: ApiRequest as unknown as typeof IncomingMessage,
    ServerResponse: ApiResponse as unknown as typeof ServerResponse,
  };
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

/** Starts the REST API (SPEC §11) on `options.host:options.port`. */
export async function startApiServer(control: DaemonControl, options: ApiOptions): Promise<ApiServer> {
  if (options.tokens === null && !isLoopbackHost(options.host))
    throw new Error(
      `api: refusing to listen on ${options.host} without API tokens; pass --api-tokens FILE, ` +
        'or listen on a loopback address such as 127.0.0.1',
    );
  const { app, listener } = buildApiApp(control, options);
  const server = createServer(expressClasses(app), listener);
  server.on('clientError', answerClientError);
  let address: AddressInfo;
  try {
    address = await listen(server, options.port, options.host);
  } catch (err) {
    throw new Error(`api: cannot listen on ${options.host}:${options.port}: ${(err as Error).message}`);
  }
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
