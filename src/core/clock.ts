import type { Millis } from './types.js';

/** Injected time source, so scheduling is tested without waiting. */
export interface Clock {
  now(): Millis;
  /** Resolves after `ms` (or at once when aborted; never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/**
 * A clock the test moves by hand. `sleep` resolves when `advance`/`set` passes its deadline.
 */
export class ManualClock implements Clock {
  private sleepers: { until: Millis; resolve: () => void }[] = [];
  constructor(private current: Millis) {}

  now(): Millis {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve();
      const entry = { until: this.current + Math.max(0, ms), resolve };
      this.sleepers.push(entry);
      signal?.addEventListener('abort', () => this.wake(entry), { once: true });
    });
  }

  set(to: Millis): void {
    this.current = to;
    for (const s of this.sleepers.filter((x) => x.until <= to)) this.wake(s);
  }

  advance(ms: number): void {
    this.set(this.current + ms);
  }

  private wake(entry: { until: Millis; resolve: () => void }): void {
    this.sleepers = this.sleepers.filter((s) => s !== entry);
    entry.resolve();
  }
}
