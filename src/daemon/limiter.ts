/** Counting semaphore whose waits can be aborted (cancel, timeout, shutdown). */
export class Limiter {
  private active = 0;
  private waiters: { resolve: (ok: boolean) => void }[] = [];

  constructor(private capacity: number) {}

  get inUse(): number {
    return this.active;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  setCapacity(capacity: number): void {
    this.capacity = capacity;
    this.drain();
  }

  /** Takes a slot when one is free and nobody waits for one; never waits. */
  tryAcquire(): boolean {
    if (this.active >= this.capacity || this.waiters.length > 0) return false;
    this.active++;
    return true;
  }

  /** Resolves true with a slot held, or false when aborted first (no slot held). */
  acquire(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.active < this.capacity) {
      this.active++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          resolve(false);
        }
      };
      // Granted: stop listening, or a long-lived signal collects one listener per wait.
      const waiter = {
        resolve: (ok: boolean) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(ok);
        },
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    this.active--;
    this.drain();
  }

  private drain(): void {
    while (this.active < this.capacity && this.waiters.length > 0) {
      this.active++;
      this.waiters.shift()!.resolve(true);
    }
  }
}
