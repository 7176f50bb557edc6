/**
 * Per-job bookkeeping for the overlap policy: how many executions of a job are active, whether
 * one is queued behind them, and running a queued one once the job is idle.
 */
export class JobActivity {
  private readonly counts = new Map<string, { active: number; queued: number; idle: (() => void)[] }>();

  active(job: string): number {
    return this.counts.get(job)?.active ?? 0;
  }

  queued(job: string): boolean {
    return (this.counts.get(job)?.queued ?? 0) > 0;
  }

  /** Runs `body` as an active execution of `job`; with `afterPrevious`, first waits until the job is idle. */
  async run(
    job: string,
    afterPrevious: boolean,
    signal: AbortSignal,
    body: () => Promise<void>,
  ): Promise<void> {
    const entry = this.entry(job);
    if (afterPrevious && entry.active > 0) {
      entry.queued++;
      try {
        await this.idle(entry, signal);
      } finally {
        entry.queued--;
      }
    }
    entry.active++;
    try {
      await body();
    } finally {
      entry.active--;
      this.wakeOne(job, entry);
    }
  }

  private idle(entry: { active: number; idle: (() => void)[] }, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (entry.active === 0 || signal.aborted) return resolve();
      entry.idle.push(resolve);
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  private wakeOne(job: string, entry: { active: number; queued: number; idle: (() => void)[] }): void {
    if (entry.active === 0 && entry.idle.length > 0) entry.idle.shift()!();
    if (entry.active === 0 && entry.queued === 0 && entry.idle.length === 0) this.counts.delete(job);
  }

  private entry(job: string) {
    let e = this.counts.get(job);
    if (!e) {
      e = { active: 0, queued: 0, idle: [] };
      this.counts.set(job, e);
    }
    return e;
  }
}
