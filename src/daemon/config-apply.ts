import type { Logger } from '../core/log.js';
import type { ConfigProblem } from '../core/types.js';
import type { ConfigState, ConfigView, PreparedConfig } from './config-view.js';
import type { JobTable } from './job-table.js';
import type { Scheduler } from './scheduler.js';

export interface ConfigApplierOptions {
  config: ConfigView;
  jobs: Pick<JobTable, 'applyConfig' | 'job' | 'jobs'>;
  scheduler: Pick<Scheduler, 'reschedule'>;
  logger: Logger;
  /** After a change is current in the job table, the scheduler and the view (nodes, gauges, log line). */
  onApplied: (applied: PreparedConfig) => void;
  /** First wait before a failed change is tried again; doubles up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
}

const DEFAULTS = { retryMs: 1_000, maxRetryMs: 60_000 };

/**
 * Applies config snapshots: the change is prepared without touching anything, handed to the job
 * table (which takes all of it or, on a store error, none), the scheduler times the changed jobs,
 * and only then are the nodes and problems committed to the view. A change that fails is logged,
 * listed with the config errors (GET /config/errors) and tried again with the newest snapshot
 * until it succeeds; meanwhile the previous version of every job stays active. Changes are
 * applied one at a time (the job table writes to the store first): a snapshot that arrives
 * while one is being applied waits, and only the newest waiting one is applied.
 */
export class ConfigApplier {
  private readonly opts: ConfigApplierOptions & typeof DEFAULTS;
  private latest: ConfigState | null = null;
  private retryTimer?: NodeJS.Timeout;
  private failures = 0;
  private closed = false;
  /** The change being applied (and the one queued behind it). */
  private applying: Promise<void> = Promise.resolve();
  /** A newer snapshot is queued behind the change being applied. */
  private queued = false;

  constructor(options: ConfigApplierOptions) {
    this.opts = { ...DEFAULTS, ...options };
  }

  /** Never rejects: a failure is reported and retried. Resolves once the newest snapshot is handled. */
  apply(state: ConfigState): Promise<void> {
    if (this.closed) return this.applying;
    this.latest = state;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.queued) return this.applying;
    this.queued = true;
    this.applying = this.applying.then(() => {
      this.queued = false;
      return this.latest && !this.closed ? this.applyNow(this.latest) : undefined;
    });
    return this.applying;
  }

  /** Resolves once every snapshot handed to apply() so far has been handled. */
  idle(): Promise<void> {
    return this.applying;
  }

  private async applyNow(state: ConfigState): Promise<void> {
    const { config, jobs, scheduler } = this.opts;
    let prepared: PreparedConfig | undefined;
    try {
      prepared = config.prepare(state, jobs);
      await jobs.applyConfig(prepared);
      scheduler.reschedule([...prepared.upserted.map((u) => u.job.name), ...prepared.removed]);
      config.commit(prepared);
    } catch (err) {
      return this.failed(prepared, err);
    }
    this.failures = 0;
    try {
      this.opts.onApplied(prepared);
    } catch (err) {
      this.opts.logger.error({ err }, 'config: applied, but updating what follows from it failed');
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  private failed(prepared: PreparedConfig | undefined, err: unknown): void {
    const delayMs = Math.min(this.opts.maxRetryMs, this.opts.retryMs * 2 ** this.failures++);
    const reason = err instanceof Error ? err.message : String(err);
    this.opts.logger.error(
      { err, jobs: prepared?.upserted.map((u) => u.job.name), retryInMs: delayMs },
      'config: a change could not be applied; the previous version stays active',
    );
    const files = prepared?.upserted.map((u) => u.job.file) ?? [];
    const removed = prepared?.removed.map((name) => this.opts.jobs.job(name)?.file ?? name) ?? [];
    const problem = (file: string, what: string): ConfigProblem => ({
      file,
      line: 1,
      column: 1,
      path: '$',
      message: `${what} could not be applied (${reason}); the previous state stays active, retrying in ${Math.round(delayMs / 1000)} s`,
      severity: 'error',
    });
    this.opts.config.setApplyProblems(
      [
        ...files.map((f) => problem(f, 'this job')),
        ...removed.map((f) => problem(f, 'the removal of this job')),
        ...(prepared ? [] : [problem('(config)', 'the config change')]),
      ],
      reason,
    );
    this.retryTimer = setTimeout(() => this.latest && void this.apply(this.latest), delayMs);
    this.retryTimer.unref();
  }
}
