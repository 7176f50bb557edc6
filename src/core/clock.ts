import type { Millis } from './types.js';

/** Injected time source, so scheduling is tested without waiting. */
export interface Clock {
  now(): Millis;
  /** Resolves after `ms` (or at once when aborted; never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** setTimeout fires at once for a delay past 2^31-1 ms (24.8 days): the longest one timer may wait. */
export const MAX_TIMER_MS = 2_147_483_647;

/** The timer functions a chunked sleep uses (injectable, so tests need not wait 25 days). */
export interface TimerApi {
  now(): Millis;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** Longest single timer; MAX_TIMER_MS for real timers. */
  maxChunkMs: number;
}

const realTimers: TimerApi = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
  maxChunkMs: MAX_TIMER_MS,
};

/**
 * Resolves `ms` after the call (or at once when aborted; never rejects). A wait longer than one
 * timer can hold sleeps in chunks, re-reading the clock after each, so it ends on its deadline.
 */
export function sleepInChunks(ms: number, signal: AbortSignal | undefined, timers: TimerApi): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const deadline = timers.now() + Math.max(0, ms);
    let handle: unknown;
    const done = () => {
      timers.clearTimer(handle);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const arm = () => {
      const remaining = deadline - timers.now();
      if (remaining <= 0) return done();
      handle = timers.setTimer(arm, Math.min(remaining, timers.maxChunkMs));
    };
    signal?.addEventListener('abort', done, { once: true });
    const first = Math.max(0, ms);
    handle = timers.setTimer(first <= timers.maxChunkMs ? done : arm, Math.min(first, timers.maxChunkMs));
  });
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleepInChunks(ms, signal, realTimers),
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
