import type { JobTable } from './job-table.js';

/** The counts the overlap policy reads and changes; the job table owns them. */
export type ExecutionCounts = Pick<
  JobTable,
  'running' | 'executionStarted' | 'executionEnded' | 'queueEntered' | 'queueLeft'
>;

/**
 * Runs a job's executions under the overlap policy: counts each in the job table while it runs
 * or waits, and starts a queued one once the job is idle. Only the waiting callers live here.
 */
export class JobActivity {
  private readonly idle = new Map<string, (() => void)[]>();

  constructor(private readonly counts: ExecutionCounts) {}

  /** Runs `body` as an active execution of `job`; with `afterPrevious`, first waits until the job is idle. */
  async run(
    job: string,
    afterPrevious: boolean,
    signal: AbortSignal,
    body: () => Promise<void>,
  ): Promise<void> {
    if (afterPrevious && this.counts.running(job) > 0) {
      this.counts.queueEntered(job);
      try {
        await this.untilIdle(job, signal);
      } finally {
        this.counts.queueLeft(job);
      }
    }
    this.counts.executionStarted(job);
    try {
      await body();
    } finally {
      this.counts.executionEnded(job);
      this.wakeOne(job);
    }
  }

  private untilIdle(job: string, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (this.counts.running(job) === 0 || signal.aborted) return resolve();
      const waiting = this.idle.get(job) ?? [];
      waiting.push(resolve);
      this.idle.set(job, waiting);
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  private wakeOne(job: string): void {
    const waiting = this.idle.get(job);
    if (!waiting || this.counts.running(job) > 0) return;
    waiting.shift()!();
    if (waiting.length === 0) this.idle.delete(job);
  }
}
