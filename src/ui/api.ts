/**
 * The console's one way to the API: a client typed from the OpenAPI document (api-types.ts is
 * generated from it), so a change of the API that the console does not follow fails to compile.
 * The token lives in sessionStorage and travels as a Bearer header; no cookie is ever used.
 */
import createClient from 'openapi-fetch';
import type { components, paths } from './api-types.js';

export type Schemas = components['schemas'];
export type JobSummary = Schemas['JobSummary'];
export type JobDetail = Schemas['JobDetail'];
export type RunSummary = Schemas['RunSummary'];
export type RunDetail = Schemas['RunDetail'];
export type RunStatus = RunSummary['status'];
export type Trigger = RunSummary['trigger'];
export type NodeInfo = Schemas['Node'];
export type Role = Schemas['Whoami']['role'];

const TOKEN_KEY = 'distcron.token';

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

export const api = createClient<paths>({ baseUrl: location.origin });

api.use({
  onRequest({ request }) {
    const token = storedToken();
    if (token !== null) request.headers.set('Authorization', `Bearer ${token}`);
    // Every write is JSON, also an empty one (the API refuses anything else: SPEC §11).
    if (request.method !== 'GET') request.headers.set('Content-Type', 'application/json');
    return request;
  },
});

/** An API answer that was not a success, with the API's own message. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful answer; an ApiFailure with the API's message otherwise. */
export async function need<T>(call: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await call;
  } catch (err) {
    throw new ApiFailure(0, `The daemon cannot be reached (${(err as Error).message}).`);
  }
  if (answer.response.ok) return answer.data as T;
  const body = answer.error as { error?: { message?: string } } | undefined;
  const message = body?.error?.message ?? `${answer.response.status} ${answer.response.statusText}`;
  throw new ApiFailure(answer.response.status, message);
}

const RANK: Record<Role, number> = { read: 0, operate: 1, admin: 2 };

export function may(role: Role, need: Role): boolean {
  return RANK[role] >= RANK[need];
}
