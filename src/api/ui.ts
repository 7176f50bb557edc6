/**
 * The web console (SPEC §18) at /ui/: static files only. The page holds no data, so it is
 * served without a token; every API call it makes carries the Bearer token the user pasted, and
 * no cookie is ever set, so the API's cross-site protections stay as they are.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler } from 'express';
import { ApiError } from './errors.js';

export const UI_PREFIX = '/ui';

/** No inline script or style, nothing from another origin, no framing. */
export const UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Where the built console lives: next to this module once compiled (dist/api → dist/ui), or
 * dist/ui of the repository when the daemon runs from its TypeScript sources (tests, tsx).
 */
export function uiDirectory(): string | null {
  const candidates = [join(here, '..', 'ui'), join(here, '..', '..', 'dist', 'ui')];
  return (
    candidates.find((dir) => existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'app.js'))) ?? null
  );
}

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', UI_CSP);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  next();
};

const notBuilt: RequestHandler = (_req, _res, next) =>
  next(
    new ApiError(
      404,
      'ui_not_built',
      'api: the web console is not built; run "npm run build" (or pass --no-ui)',
    ),
  );

/** GET/HEAD /ui/... : the console's files; /ui redirects to /ui/. */
export function uiRouter(dir: string | null = uiDirectory()): express.Router {
  const router = express.Router({ caseSensitive: true, strict: true });
  router.get(UI_PREFIX, (_req, res) => res.redirect(301, `${UI_PREFIX}/`));
  router.use(UI_PREFIX, securityHeaders);
  if (dir === null) router.get(`${UI_PREFIX}/`, notBuilt);
  else
    router.use(
      UI_PREFIX,
      express.static(dir, { index: 'index.html', redirect: false, etag: false, dotfiles: 'ignore' }),
    );
  return router;
}
