/**
 * Cancelling a run wherever it executes (SPEC §15). A run executing on this member is aborted at
 * once. Any other `running` run — executing on another member, or queued and not started yet —
 * gets a cancel request in the store, which wakes the members (PostgreSQL: NOTIFY): the member
 * executing it aborts it when woken, or at its next poll should the notification be lost; a
 * member taking a queued execution records its runs cancelled, never started (run-plans.ts).
 * A request only ever stops a run: it names nothing to execute and its reason is ours, not the
 * caller's.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import { isoUtc } from '../core/types.js';
import type { AsyncStore, CancelRequest } from '../store/async-store.js';

export const API_CANCEL_REASON = 'cancelled through the API';

/** Aborts a run executing on this member (its whole execution); false when it does not execute here. */
export type AbortLocal = (runId: string, reason: string) => boolean;

export interface CancellerDeps {
  store: Pick<AsyncStore, 'requestCancel'>;
  clock: Clock;
  member: string;
  runner: { cancel: AbortLocal };
}

/**
 * The API's cancel: resolves true when the run was aborted here or a request for it is stored,
 * false when it is not running (final, or unknown).
 */
export function runCanceller(deps: CancellerDeps) {
  return async (runId: string, requestedBy: string | null): Promise<boolean> => {
    if (deps.runner.cancel(runId, API_CANCEL_REASON)) return true;
    return deps.store.requestCancel({
      runId,
      reason: `${API_CANCEL_REASON} of member ${deps.member}`,
      requestedAt: isoUtc(deps.clock.now()),
      requestedBy,
    });
  };
}

export interface CancelWatchOptions {
  store: Pick<AsyncStore, 'pendingCancels'>;
  member: string;
  clock: Clock;
  logger: Logger;
  /** Longest time between two looks while this member executes runs. */
  pollMs: number;
  abortLocal: AbortLocal;
  /** Runs this member executes (taken, not ended): with none, nothing is read. */
  inFlight: () => number;
}

/** This member's side: reads the requests of its own running runs when woken and every poll. */
export class CancelWatcher {
  private closed = false;
  private nap: AbortController | null = null;
  private loop: Promise<void> = Promise.resolve();
  private failing = false;
  private woken = false;
  /** Runs aborted already (a request stays until its run is final: log each once). */
  private aborted = new Set<string>();

  constructor(private readonly o: CancelWatchOptions) {}

  start(): void {
    this.loop = this.run();
  }

  /** A cancel was requested somewhere: look now. */
  wake(): void {
    this.woken = true;
    this.nap?.abort();
  }

  /** Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.nap?.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      this.woken = false;
      if (this.o.inFlight() > 0) await this.look();
      else this.aborted.clear();
      if (this.woken || this.closed) continue;
      this.nap = new AbortController();
      await this.o.clock.sleep(this.o.pollMs, this.nap.signal);
      this.nap = null;
    }
  }

  private async look(): Promise<void> {
    const pending = await this.pending();
    if (pending) this.act(pending);
  }

  private async pending(): Promise<CancelRequest[] | null> {
    try {
      const pending = await this.o.store.pendingCancels(this.o.member);
      if (this.failing) this.o.logger.info('cancel requests: reading them again');
      this.failing = false;
      return pending;
    } catch (err) {
      if (!this.failing)
        this.o.logger.warn({ err }, 'cancel requests: could not read them; retrying (logged once)');
      this.failing = true;
      return null;
    }
  }

  /** A run not executing here yet (taken, not started) is tried again at the next look. */
  private act(pending: readonly CancelRequest[]): void {
    const done = new Set<string>();
    for (const request of pending) {
      if (this.aborted.has(request.runId) || this.o.abortLocal(request.runId, request.reason)) {
        if (!this.aborted.has(request.runId))
          this.o.logger.info(
            { run: request.runId, by: request.requestedBy },
            'run cancelled at the request of another member',
          );
        done.add(request.runId);
      }
    }
    this.aborted = done;
  }
}
