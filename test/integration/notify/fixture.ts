import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../../src/core/clock.js';
import { createLogger, type Logger } from '../../../src/core/log.js';
import { Metrics } from '../../../src/core/metrics.js';
import type { JobDef, RunRecord } from '../../../src/core/types.js';
import { Notifier, type NotifierOptions } from '../../../src/notify/notifier.js';
import { runFinishedEntry } from '../../../src/notify/outbox.js';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite.js';
import { SqliteAsyncStore } from '../../../src/store/sqlite-async.js';
import { jobDef } from '../../harness/defs.js';
import { fakeRun } from '../../harness/runs.js';

/** Fast retries so "down, then up" tests finish in seconds. */
export const FAST_RETRY = { baseMs: 50, maxMs: 400, permanentAttempts: 2, maxAgeMs: 60_000 };

export const API_BASE = 'http://127.0.0.1:8080';

/** A job with an owner and the default notify.on, as the config loader builds it. */
export function notifyJob(
  name: string,
  notify: Partial<JobDef['notify']> = {},
  overrides: Partial<JobDef> = {},
): JobDef {
  return jobDef(name, {
    description: `The ${name} job`,
    owners: [{ name: 'Ops', email: 'ops@example.com' }],
    command: { kind: 'argv', argv: ['/usr/local/bin/dump', '--all'] },
    notify: { on: ['failure', 'recovery'], email: [], webhooks: [], ...notify },
    ...overrides,
  });
}

/**
 * A real SQLite store file in a temp dir, a Notifier over it with a captured pino log, and
 * helpers that finish runs the way the daemon does (run update + notify outbox entry in one
 * transaction). cleanup() closes everything it opened.
 */
export class NotifyFixture {
  readonly dir = mkdtempSync(join(tmpdir(), 'distcron-notify-'));
  readonly dbPath = join(this.dir, 'distcron.db');
  readonly jobs = new Map<string, JobDef>();
  readonly logLines: string[] = [];
  readonly logger: Logger;
  readonly metrics = new Metrics({ defaultMetrics: false });
  store: SqliteStore;
  notifier: Notifier | null = null;

  constructor(
    readonly clock: Clock = systemClock,
    private readonly notifierOptions: Partial<NotifierOptions> = {},
  ) {
    this.logger = createLogger('debug', { write: (line: string) => void this.logLines.push(line) });
    this.store = this.openStore();
  }

  private openStore(): SqliteStore {
    return openSqliteStore({ path: this.dbPath, clock: this.clock });
  }

  addJob(job: JobDef): JobDef {
    this.jobs.set(job.name, job);
    return job;
  }

  start(extra: Partial<NotifierOptions> = {}): Notifier {
    this.notifier = new Notifier({
      store: new SqliteAsyncStore(this.store),
      clock: this.clock,
      logger: this.logger,
      metrics: this.metrics,
      apiBaseUrl: API_BASE,
      pollMs: 50,
      retry: FAST_RETRY,
      jobs: (name) => this.jobs.get(name),
      ...this.notifierOptions,
      ...extra,
    });
    this.notifier.start();
    return this.notifier;
  }

  /** Records a final run of `job` with its notify outbox entry, then wakes the notifier. */
  finish(job: JobDef, overrides: Partial<RunRecord>): RunRecord {
    const finishedAt = new Date(this.clock.now()).toISOString();
    const run = fakeRun({ job: job.name, finished_at: finishedAt, ...overrides });
    this.store.insertRun({
      ...run,
      status: 'running',
      finished_at: null,
      duration_ms: null,
      exit_code: null,
    });
    this.store.finishRun(run, [runFinishedEntry(run, job)]);
    this.notifier?.notify();
    return run;
  }

  /** Closes notifier and store, then opens both again on the same file (a restart). */
  async restart(extra: Partial<NotifierOptions> = {}): Promise<Notifier> {
    await this.notifier?.close();
    this.store.close();
    this.store = this.openStore();
    return this.start(extra);
  }

  /** Waits until the notify, email and webhook outboxes are all empty. */
  async drained(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const b = this.store.outboxBacklog();
      if (b.notify + b.email + b.webhook === 0) return;
      if (Date.now() > deadline) throw new Error(`notify outboxes not drained: ${JSON.stringify(b)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  log(): string {
    return this.logLines.join('');
  }

  async cleanup(): Promise<void> {
    await this.notifier?.close();
    this.store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
