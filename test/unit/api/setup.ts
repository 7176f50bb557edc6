import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { ApiToken } from '../../../src/api/auth.js';
import { sha256Hex, startApiServer, type ApiServer } from '../../../src/api/server.js';
import { ApiCaller } from './http.js';
import { ResponseChecker } from './openapi-check.js';
import { TestControl } from './test-control.js';

/** Tokens for the role matrix: the token text is `<role>-secret-token`. */
export const TOKENS = {
  read: 'read-secret-token',
  operate: 'operate-secret-token',
  admin: 'admin-secret-token',
} as const;

export const TOKEN_FILE: ApiToken[] = [
  { name: 'dashboard', sha256: sha256Hex(TOKENS.read), role: 'read' },
  { name: 'ci', sha256: sha256Hex(TOKENS.operate), role: 'operate' },
  { name: 'ops', sha256: sha256Hex(TOKENS.admin), role: 'admin' },
];

export interface TestApi {
  control: TestControl;
  api: ApiServer;
  checker: ResponseChecker;
  /** A caller using `token` (default: none). */
  as(token?: string): ApiCaller;
  logLines(): string;
  close(): Promise<void>;
}

/** A TestControl behind a real API server on a random loopback port; logs captured. */
export async function startTestApi(options: { tokens?: ApiToken[] | null; maxBodyBytes?: number } = {}) {
  const control = new TestControl();
  let log = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      log += chunk.toString('utf8');
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const api = await startApiServer(control, {
    host: '127.0.0.1',
    port: 0,
    tokens: options.tokens === undefined ? null : options.tokens,
    logger,
    maxBodyBytes: options.maxBodyBytes,
  });
  const checker = new ResponseChecker();
  const testApi: TestApi = {
    control,
    api,
    checker,
    as: (token?: string) => new ApiCaller(api.url, checker, token),
    logLines: () => log,
    close: async () => {
      await api.close();
      control.close();
    },
  };
  return testApi;
}
