import type { Request, Response } from 'express';
import type { DeadLetter } from '../store/store.js';
import type { Caller } from './auth.js';
import { parseLimit, readQuery } from './request.js';
import { API_PREFIX, type ApiRoute, type RouteContext } from './routes.js';

export const DEAD_LETTERS_DEFAULT_LIMIT = 100;
export const DEAD_LETTERS_MAX_LIMIT = 1000;

/** Who the calling token is: the web console shows only what its role may do. */
function whoami(_ctx: RouteContext, req: Request, res: Response): void {
  readQuery(req, []);
  const caller = res.locals.caller as Caller;
  res.json({ name: caller.name, role: caller.role });
}

function deadLetterJson(letter: DeadLetter) {
  return {
    id: letter.id,
    sink: letter.sink,
    key: letter.key,
    reason: letter.reason,
    created_at: new Date(letter.createdAt).toISOString(),
    payload: letter.payload ?? null,
  };
}

/** Notifications given up on (newest first); their payloads never hold a secret. */
async function deadLetters(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  const query = readQuery(req, ['limit']);
  const limit = parseLimit(query.limit, DEAD_LETTERS_DEFAULT_LIMIT, DEAD_LETTERS_MAX_LIMIT);
  const letters = (await ctx.deadLetters?.(limit)) ?? [];
  res.json({ dead_letters: letters.map(deadLetterJson) });
}

export const metaRoutes: ApiRoute[] = [
  { method: 'get', path: `${API_PREFIX}/whoami`, role: 'read', handle: whoami },
  { method: 'get', path: `${API_PREFIX}/dead-letters`, role: 'admin', handle: deadLetters },
];
