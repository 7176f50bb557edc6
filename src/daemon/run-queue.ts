/**
 * This member's side of the shared run queue (SPEC §15): it takes queued executions while it
 * runs fewer than `--max-runs` runs, and hands each to the runner. It looks when woken (work
 * queued here, a notification from another member, an execution ending here) and at least every
 * poll interval, so a lost notification delays work by one interval at most.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { AsyncStore, TakenExecution } from '../store/async-store.js';

export interface RunQueueOptions {
  store: Pick<AsyncStore, 'takeExecutions'>;
  member: string;
  /**
   * Runs this member executes at once. It takes executions only while below it, each whole (all
   * runs of an `all` fire), so one batch may carry it past the limit by the runs of those taken.
   */
  maxRuns: number;
  /** Longest time between two looks at the queue. */
  pollMs: number;
  clock: Clock;
  logger: Logger;
  /** Executes a taken execution here; resolves when all its runs ended. */
  execute: (taken: TakenExecution) => Promise<void>;
}

/** Executions taken per look, at most (one transaction each). */
const TAKE_BATCH = 32;

export class RunQueueWorker {
  private running = 0;
  private closed = false;
  private woken = false;
  private nap: AbortController | null = null;
  private loop: Promise<void> = Promise.resolve();
  private failing = false;

  constructor(private readonly o: RunQueueOptions) {}

  /** Runs of executions taken by this member, not ended yet. */
  get inFlight(): number {
    return this.running;
  }

  start(): void {
    this.loop = this.run();
  }

  /** Look at the queue now (coalesced with a look already under way). */
  wake(): void {
    this.woken = true;
    this.nap?.abort();
  }

  /** Stops taking work (executions already taken go on: the runner's drain waits for them). */
  async close(): Promise<void> {
    this.closed = true;
    this.nap?.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      this.woken = false;
      await this.takeWhileRoom();
      if (this.woken || this.closed) continue;
      this.nap = new AbortController();
      await this.o.clock.sleep(this.o.pollMs, this.nap.signal);
      this.nap = null;
    }
  }

  private async takeWhileRoom(): Promise<void> {
    while (!this.closed && this.running < this.o.maxRuns) {
      // Every execution has a run at least: never more executions than runs of room.
      const taken = await this.take(Math.min(TAKE_BATCH, this.o.maxRuns - this.running));
      for (const execution of taken) this.begin(execution);
      if (taken.length === 0) return;
    }
  }

  private async take(limit: number): Promise<TakenExecution[]> {
    try {
      const taken = await this.o.store.takeExecutions(this.o.member, limit);
      if (this.failing) this.o.logger.info('run queue: taking work again');
      this.failing = false;
      return taken;
    } catch (err) {
      if (!this.failing)
        this.o.logger.error({ err }, 'run queue: could not take work; retrying (logged once)');
      this.failing = true;
      return [];
    }
  }

  private begin(execution: TakenExecution): void {
    const weight = Math.max(1, execution.runs.length);
    this.running += weight;
    void this.o
      .execute(execution)
      .catch((err: unknown) =>
        this.o.logger.error({ err, execution: execution.executionId }, 'run queue: execution failed'),
      )
      .finally(() => {
        this.running -= weight;
        this.wake();
      });
  }
}
