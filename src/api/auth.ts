import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { RequestHandler } from 'express';
import { ApiError } from './errors.js';

export type Role = 'read' | 'operate' | 'admin';

export const ROLES: readonly Role[] = ['read', 'operate', 'admin'];

/** One entry of the `--api-tokens` file. Only the SHA-256 of the token is ever stored. */
export interface ApiToken {
  name: string;
  /** Lower-case hex SHA-256 of the token. */
  sha256: string;
  role: Role;
}

/** Who made a request; attached to `res.locals.caller` by `authorize`. */
export interface Caller {
  /** The token's name (never the token), or null when the API runs without tokens. */
  name: string | null;
  role: Role;
}

const TOKEN_FIELDS = ['name', 'sha256', 'role'];

/** Reads and validates an `--api-tokens` file: a JSON array of `{name, sha256, role}`. */
export function loadApiTokens(file: string): ApiToken[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`api: cannot read the token file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`api: the token file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseApiTokens(parsed, file);
}

export function parseApiTokens(value: unknown, source = 'api tokens'): ApiToken[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new Error(`api: ${source} must be a non-empty JSON array of {"name", "sha256", "role"}`);
  const tokens = value.map((entry, i) => parseToken(entry, `${source}[${i}]`));
  const names = new Set<string>();
  for (const t of tokens) {
    if (names.has(t.name)) throw new Error(`api: ${source}: the token name "${t.name}" is used twice`);
    names.add(t.name);
  }
  return tokens;
}

function parseToken(entry: unknown, where: string): ApiToken {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry))
    throw new Error(`api: ${where} must be an object {"name", "sha256", "role"}`);
  const record = entry as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !TOKEN_FIELDS.includes(k));
  if (unknown.length > 0) throw new Error(`api: ${where} has unknown fields: ${unknown.join(', ')}`);
  const { name, sha256, role } = record;
  if (typeof name !== 'string' || name.trim() === '')
    throw new Error(`api: ${where}.name must be a non-empty string`);
  if (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256))
    throw new Error(
      `api: ${where}.sha256 must be the 64 hex digits of the token's SHA-256 (e.g. printf %s TOKEN | sha256sum)`,
    );
  if (typeof role !== 'string' || !ROLES.includes(role as Role))
    throw new Error(`api: ${where}.role must be one of ${ROLES.join(', ')}`);
  return { name, sha256: sha256.toLowerCase(), role: role as Role };
}

export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1' || bare.startsWith('::ffff:127.');
}

function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/**
 * Matches a presented bearer token against the configured hashes. Every configured hash is
 * compared (no early exit) with timingSafeEqual, so timing tells nothing about which matched.
 */
export class TokenVerifier {
  private readonly hashes: { token: ApiToken; digest: Buffer }[];

  constructor(tokens: ApiToken[]) {
    this.hashes = tokens.map((token) => ({ token, digest: Buffer.from(token.sha256, 'hex') }));
  }

  verify(presented: string): ApiToken | null {
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    let match: ApiToken | null = null;
    for (const entry of this.hashes) {
      if (timingSafeEqual(entry.digest, digest) && match === null) match = entry.token;
    }
    return match;
  }
}

function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m ? m[1]! : null;
}

const UNAUTHENTICATED = 'api: send a valid token as "Authorization: Bearer <token>"';

/**
 * Route guard. With `tokens === null` (loopback-only API) every caller is admin; otherwise the
 * bearer token must match (401) and carry at least `need` (403).
 */
export function authorize(tokens: ApiToken[] | null, need: Role | null): RequestHandler {
  const verifier = tokens === null ? null : new TokenVerifier(tokens);
  return (req, res, next) => {
    if (need === null) return next();
    if (verifier === null) {
      res.locals.caller = { name: null, role: 'admin' } satisfies Caller;
      return next();
    }
    const presented = bearerToken(req.headers.authorization);
    const token = presented === null ? null : verifier.verify(presented);
    if (!token) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="distcron"');
      return next(new ApiError(401, 'unauthorized', UNAUTHENTICATED));
    }
    res.locals.caller = { name: token.name, role: token.role } satisfies Caller;
    if (!roleAtLeast(token.role, need))
      return next(
        new ApiError(
          403,
          'forbidden',
          `api: the token "${token.name}" has role ${token.role}; this needs ${need}`,
        ),
      );
    next();
  };
}
