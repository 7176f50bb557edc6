/**
 * What keeps a web page from driving the API through the operator's browser: a request must
 * name this API in its Host header (DNS rebinding sends the attacker's name), a write must come
 * from the API's own origin or a configured one, and a write must be JSON (a form or a
 * `text/plain` body is what a page can send without asking the API first).
 */
import { isIP } from 'node:net';
import type { RequestHandler } from 'express';
import { isLoopbackHost } from './auth.js';
import { ApiError } from './errors.js';

export interface SiteRules {
  /** The --listen host. */
  listenHost: string;
  /** The port listened on. */
  port: number;
  /** --api-allowed-hosts entries: NAME (our port or none) or NAME:PORT. */
  allowedHosts: readonly string[];
  /** --api-cors-origin entries, e.g. https://console.example.com */
  corsOrigins: readonly string[];
  /** --api-base-url: its origin may write. */
  baseUrl: string | null;
  /** The API runs without tokens on a non-loopback address (--api-insecure-no-auth). */
  insecureNoAuth: boolean;
}

const WRITES = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

/** `host[:port]` of a Host header; null when it cannot be one. */
export function splitHostHeader(header: string): { name: string; port: number | null } | null {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(header.trim());
  if (!match) return null;
  return { name: match[1]!.toLowerCase(), port: match[2] === undefined ? null : Number(match[2]) };
}

function bare(name: string): string {
  return name.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Whether a Host header names this API. IP literals are accepted (a rebinding page can only
 * send its own DNS name); names must be loopback names, the listen host or an allowed host.
 */
export function hostAllowed(header: string | undefined, rules: SiteRules): boolean {
  if (header === undefined) return false;
  const host = splitHostHeader(header);
  if (host === null) return false;
  const ourPort = host.port === null || host.port === rules.port;
  const name = bare(host.name);
  if (ourPort && (isIP(name) !== 0 || isLoopbackHost(name))) return true;
  if (ourPort && name === bare(rules.listenHost.toLowerCase())) return true;
  return rules.allowedHosts.some((entry) => {
    const allowed = splitHostHeader(entry);
    if (allowed === null || bare(allowed.name) !== name) return false;
    return allowed.port === null ? ourPort : allowed.port === host.port;
  });
}

export function hostGuard(rules: SiteRules): RequestHandler {
  return (req, _res, next) => {
    if (hostAllowed(req.headers.host, rules)) return next();
    next(
      new ApiError(
        421,
        'misdirected_request',
        `api: this API does not answer to the host "${req.headers.host ?? ''}"; ` +
          'add the name to --api-allowed-hosts if clients use it',
        { host: req.headers.host ?? null },
      ),
    );
  };
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** The origins allowed to write: the API's own (from the Host it was reached by), base URL, CORS list. */
function writeOrigins(host: string, rules: SiteRules): Set<string> {
  const own = [`http://${host}`, `https://${host}`];
  const configured = [rules.baseUrl, ...rules.corsOrigins].map((u) => (u === null ? null : originOf(u)));
  return new Set([...own, ...configured].filter((o): o is string => o !== null).map((o) => o.toLowerCase()));
}

/** A write with an Origin header (browsers send one) from another site is refused. */
export function sameOriginWrites(rules: SiteRules): RequestHandler {
  return (req, _res, next) => {
    const origin = req.headers.origin;
    if (!WRITES.has(req.method) || origin === undefined) return next();
    if (writeOrigins(req.headers.host ?? '', rules).has(origin.toLowerCase())) return next();
    next(
      new ApiError(
        403,
        'cross_origin',
        `api: writes from the web origin "${origin}" are refused; add it to --api-cors-origin to allow it`,
        { origin },
      ),
    );
  };
}

/** CORS for the configured origins only; a preflight from one of them is answered here. */
export function corsHeaders(rules: SiteRules): RequestHandler {
  const allowed = new Set(rules.corsOrigins.map((o) => (originOf(o) ?? o).toLowerCase()));
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin === undefined || !allowed.has(origin.toLowerCase())) return next();
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
    if (req.method !== 'OPTIONS' || req.headers['access-control-request-method'] === undefined) return next();
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}

/** Every write is JSON, also without a body: a browser cannot send that cross-site unasked. */
export const requireJsonContentType: RequestHandler = (req, _res, next) => {
  if (req.is(['application/json', 'application/*+json']) || isJsonWithoutBody(req.headers['content-type']))
    return next();
  next(
    new ApiError(
      415,
      'unsupported_media_type',
      'api: send writes with Content-Type: application/json (also when the body is empty)',
    ),
  );
};

/** req.is() answers null when there is no body; the header alone counts then. */
function isJsonWithoutBody(type: string | undefined): boolean {
  if (type === undefined) return false;
  const media = type.split(';')[0]!.trim().toLowerCase();
  return media === 'application/json' || /^application\/[^/]+\+json$/.test(media);
}
