import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { ApiToken } from '../../../src/api/auth.js';
import type { RunRecord } from '../../../src/core/types.js';
import type { Daemon } from '../../../src/daemon/daemon.js';
import type { DaemonOptions } from '../../../src/daemon/options.js';
import { openSqliteStore } from '../../../src/store/sqlite.js';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { readRuns } from '../../harness/daemon-process.js';
import { ApiCaller } from '../../unit/api/http.js';
import { ResponseChecker } from '../../unit/api/openapi-check.js';
import { writeTokenFile } from '../../unit/api/setup.js';

export interface TestApiSetup {
  tokens?: ApiToken[] | null;
  /** Job files (name → body) written before the daemon starts. */
  jobs?: Record<string, object>;
  nodes?: Record<string, object>;
  /** Runs already in the SQLite file when the daemon starts. */
  runs?: RunRecord[];
  options?: Partial<DaemonOptions>;
}

/** A real daemon on a temp directory serving its API on a loopback port; its log is kept. */
export class TestApi {
  readonly env = new DaemonEnv();
  readonly checker = new ResponseChecker();
  daemon!: Daemon;
  url!: string;
  private log = '';

  static async start(setup: TestApiSetup = {}): Promise<TestApi> {
    const t = new TestApi();
    await t.begin(setup);
    return t;
  }

  private async begin(setup: TestApiSetup): Promise<void> {
    for (const [name, body] of Object.entries(setup.nodes ?? {})) this.env.writeNode(name, body);
    for (const [name, body] of Object.entries(setup.jobs ?? {})) this.env.writeJob(name, body);
    if (setup.runs) {
      const store = openSqliteStore({ path: this.env.dbPath });
      store.importRuns(setup.runs);
      store.close();
    }
    const tokens = setup.tokens ? { apiTokensFile: writeTokenFile(this.env.dir, setup.tokens) } : {};
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        this.log += chunk.toString('utf8');
        done();
      },
    });
    const options = { listen: '127.0.0.1:0', shutdownGraceMs: 0, ...tokens, ...setup.options };
    this.daemon = await this.env.start(options, { logger: pino({ level: 'debug' }, sink) });
    this.url = this.daemon.apiUrl!;
  }

  as(token?: string): ApiCaller {
    return new ApiCaller(this.url, this.checker, token);
  }

  logLines(): string {
    return this.log;
  }

  /** The job's runs as the SQLite file holds them. */
  runsOf(job: string): RunRecord[] {
    return readRuns(this.env.dbPath, job);
  }

  close(): Promise<void> {
    return this.env.cleanup();
  }
}

/** The path of a `Link: <...>; rel="next"` header, or null. */
export function nextPath(link: string | null): string | null {
  return link ? /^<([^>]+)>; rel="next"$/.exec(link)![1]! : null;
}

export const LOCAL_NODE = { roles: ['web'], connection_type: 'local', max_concurrent_runs: 8 };
/** A manual job on role web that finishes at once. */
export const QUICK_JOB = { policy: { select: 'any', roles: ['web'] }, command: ['true'] };
export const SLEEPY_JOB = { policy: { select: 'any', roles: ['web'] }, command: ['sleep', '30'] };
