/**
 * Callers waiting for runs to end (waitForRun: the API, the CLI's `run`, tests). A run may
 * execute on this member or on another (SPEC §15: any member takes queued work), so a waiter
 * hears of a finish here at once and otherwise reads the store again every poll interval.
 */
import type { Clock } from '../core/clock.js';
import type { RunRecord } from '../core/types.js';

export interface RunWaitersOptions {
  clock: Clock;
  /** The stored record, once the finishes this member has queued are committed. */
  read: (id: string) => Promise<RunRecord | undefined>;
  /** True while the run executes here (its finish will be told). */
  isLocal: (id: string) => boolean;
  pollMs: number;
}

type Waiter = (run: RunRecord) => void;

export class RunWaiters {
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(private readonly o: RunWaitersOptions) {}

  /** Waiting callers (tests and diagnostics: an ended or abandoned wait leaves none). */
  get count(): number {
    let n = 0;
    for (const list of this.waiters.values()) n += list.length;
    return n;
  }

  /** Resolves with the final record of run `id` (already final: at once); rejects when aborted. */
  async wait(id: string, signal?: AbortSignal): Promise<RunRecord> {
    const local = this.listen(id);
    try {
      for (;;) {
        if (!this.o.isLocal(id)) {
          const current = await this.o.read(id);
          if (!current) throw new Error(`run ${id} not found`);
          if (current.status !== 'running') return current;
        }
        const nap = new AbortController();
        const polled = this.o.clock.sleep(
          this.o.pollMs,
          AbortSignal.any([nap.signal, ...(signal ? [signal] : [])]),
        );
        const finished = await Promise.race([local.ended, polled.then(() => null)]);
        nap.abort();
        if (finished) return finished;
        if (signal?.aborted) throw new Error('aborted');
      }
    } finally {
      local.stop();
    }
  }

  /** A run ended here: every caller waiting for it gets its record. */
  ended(run: RunRecord): void {
    for (const resolve of this.waiters.get(run.id) ?? []) resolve(run);
    this.waiters.delete(run.id);
  }

  private listen(id: string): { ended: Promise<RunRecord>; stop: () => void } {
    let waiter: Waiter = () => undefined;
    const ended = new Promise<RunRecord>((resolve) => (waiter = resolve));
    this.waiters.set(id, [...(this.waiters.get(id) ?? []), waiter]);
    const stop = () => {
      const rest = (this.waiters.get(id) ?? []).filter((w) => w !== waiter);
      if (rest.length > 0) this.waiters.set(id, rest);
      else this.waiters.delete(id);
    };
    return { ended, stop };
  }
}
