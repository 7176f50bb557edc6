import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApiServer, type ApiServer, type ApiToken } from '../../../src/api/server.js';
import type { Daemon } from '../../../src/daemon/daemon.js';
import type { DaemonOptions } from '../../../src/daemon/options.js';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { ApiCaller } from '../../unit/api/http.js';
import { ResponseChecker } from '../../unit/api/openapi-check.js';

/**
 * A real daemon (real config watcher, scheduler, local executor, SQLite file) with its REST API.
 * When the daemon serves the API itself (`--listen`), that API is used; otherwise the API is
 * started on the daemon's control object, exactly as the daemon would.
 */
export class ApiDaemon {
  readonly env = new DaemonEnv();
  readonly checker = new ResponseChecker();
  daemon!: Daemon;
  url!: string;
  private ownApi: ApiServer | null = null;

  constructor(private readonly tokens: ApiToken[] | null = null) {}

  get dir(): string {
    return this.env.dir;
  }

  private tokenOptions(): Partial<DaemonOptions> {
    if (this.tokens === null) return {};
    const file = join(this.env.dir, 'tokens.json');
    writeFileSync(file, JSON.stringify(this.tokens));
    return { apiTokensFile: file };
  }

  async start(extra: Partial<DaemonOptions> = {}): Promise<this> {
    this.daemon = await this.env.start({
      listen: '127.0.0.1:0',
      shutdownGraceMs: 0,
      ...this.tokenOptions(),
      ...extra,
    });
    if (this.daemon.apiUrl) {
      this.url = this.daemon.apiUrl;
      return this;
    }
    this.ownApi = await startApiServer(this.daemon.control, {
      host: '127.0.0.1',
      port: 0,
      tokens: this.tokens,
    });
    this.url = this.ownApi.url;
    return this;
  }

  /** Stops the daemon (and its API) but keeps the directory: start() again for a restart. */
  async stop(): Promise<void> {
    await this.ownApi?.close();
    this.ownApi = null;
    await this.daemon.close();
  }

  as(token?: string): ApiCaller {
    return new ApiCaller(this.url, this.checker, token);
  }

  async cleanup(): Promise<void> {
    await this.ownApi?.close();
    await this.env.cleanup();
  }
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('eventually: condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
