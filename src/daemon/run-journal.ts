import type { Logger } from '../core/log.js';
import type { RunRecord } from '../core/types.js';
import type { OutboxEntry, Store } from '../store/store.js';

export interface StartFields {
  node: string | null;
  host: string | null;
  started_at: string;
}

type Write =
  | { kind: 'start'; id: string; fields: StartFields }
  | { kind: 'finish'; run: RunRecord; outbox: OutboxEntry[]; committed: () => void };

/**
 * Groups the run writes of one event-loop turn (the starts and finishes of a fan-out's runs)
 * into one store transaction instead of one commit each — a commit (a WAL append) costs more
 * than the writes of a run. A finished run's record, job state and outbox rows still commit
 * together, and whatever relies on the record being stored (waiters, metrics, the notifier's
 * wake-up) runs only after the commit. Writes reach the store in call order: anything that
 * writes runs directly (claims, inserts, reads that must see finishes) flushes first.
 */
export class RunJournal {
  private pending: Write[] = [];
  private scheduled: NodeJS.Immediate | null = null;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  markStarted(id: string, fields: StartFields): void {
    this.push({ kind: 'start', id, fields });
  }

  /** Queues the final record; `committed` runs once it is stored (or could not be). */
  finish(run: RunRecord, outbox: OutboxEntry[], committed: () => void): void {
    this.push({ kind: 'finish', run, outbox, committed });
  }

  /** Records the final record at once (after what is queued), then runs `committed`. */
  finishNow(run: RunRecord, outbox: OutboxEntry[], committed: () => void): void {
    this.finish(run, outbox, committed);
    this.flush();
  }

  /** Commits what is queued now (no-op when nothing is). */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    const writes = this.pending;
    if (writes.length === 0) return;
    this.pending = [];
    this.commit(withoutSupersededStarts(writes));
    for (const write of writes) if (write.kind === 'finish') this.notify(write);
  }

  private push(write: Write): void {
    this.pending.push(write);
    // After the I/O callbacks of this turn: every run that finished in it shares the commit.
    this.scheduled ??= setImmediate(() => this.flush());
  }

  private commit(writes: readonly Write[]): void {
    try {
      this.store.batch(() => writes.forEach((w) => this.write(w)));
    } catch (err) {
      // Nothing of the batch is stored (one write failed, or the commit itself, e.g. the file
      // stayed locked past busy_timeout): write each on its own, so one bad write costs only itself.
      this.logger.warn({ err, writes: writes.length }, 'run writes: batch commit failed; writing one by one');
      writes.forEach((w) => this.writeAlone(w));
    }
  }

  private write(write: Write): void {
    if (write.kind === 'start') this.store.markStarted(write.id, write.fields);
    else this.store.finishRun(write.run, write.outbox);
  }

  /** One write in its own transaction; a failure is logged. */
  private writeAlone(write: Write): void {
    try {
      this.write(write);
    } catch (err) {
      if (write.kind === 'start') this.logger.error({ err, run: write.id }, 'could not record a run start');
      else
        this.logger.error({ err, run: write.run.id, job: write.run.job }, 'could not record a finished run');
    }
  }

  private notify(write: Extract<Write, { kind: 'finish' }>): void {
    try {
      write.committed();
    } catch (err) {
      this.logger.error({ err, run: write.run.id }, 'after recording a finished run: unexpected error');
    }
  }
}

/** A run that starts and finishes within one batch needs only its final record (it carries node, host, started_at). */
function withoutSupersededStarts(writes: readonly Write[]): Write[] {
  const finished = new Set<string>();
  for (const w of writes) if (w.kind === 'finish') finished.add(w.run.id);
  return writes.filter((w) => w.kind === 'finish' || !finished.has(w.id));
}
