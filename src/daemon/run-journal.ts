import type { Logger } from '../core/log.js';
import type { RunRecord } from '../core/types.js';
import type { AsyncStore, StoreOps } from '../store/async-store.js';
import type { OutboxEntry } from '../store/store.js';

export interface StartFields {
  node: string | null;
  host: string | null;
  started_at: string;
}

type Write =
  | { kind: 'start'; id: string; fields: StartFields }
  | { kind: 'finish'; run: RunRecord; outbox: OutboxEntry[]; committed: () => void };

/** First wait before writes that failed on a transient store error are tried again; doubles. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 10_000;

/**
 * Groups the run writes of one event-loop turn (the starts and finishes of a fan-out's runs)
 * into one store transaction instead of one commit each — a commit (a WAL append) costs more
 * than the writes of a run, and the batch's starts and finishes are written set-wise (a few
 * statements, not a few per run). A finished run's record, job state and outbox rows still commit
 * together, and whatever relies on the record being stored (waiters, metrics, the notifier's
 * wake-up) runs only after the commit. Writes reach the store in call order: anything that
 * writes runs directly (claims, inserts, reads that must see finishes) awaits flush() first.
 * Commits go one at a time: a flush waits for the one before it.
 *
 * A write that fails on a transient store error (locked, disk full, I/O error, read-only) is
 * kept, in order, and tried again with backoff; nothing is reported as finished before its
 * record is stored. A write that can never succeed (a defect) is logged and dropped.
 */
export class RunJournal {
  private pending: Write[] = [];
  /** Writes that failed transiently: they go first in the next flush. */
  private failed: Write[] = [];
  private scheduled: NodeJS.Immediate | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelayMs = RETRY_FIRST_MS;
  /** The commit in progress (and those queued behind it). */
  private committing: Promise<void> = Promise.resolve();
  /** Writes taken by a flush and not settled yet (queued behind a commit, or in it). */
  private inCommit = 0;

  constructor(
    private readonly store: AsyncStore,
    private readonly logger: Logger,
  ) {}

  markStarted(id: string, fields: StartFields): void {
    this.push({ kind: 'start', id, fields });
  }

  /** Queues the final record; `committed` runs once it is stored. */
  finish(run: RunRecord, outbox: OutboxEntry[], committed: () => void): void {
    this.push({ kind: 'finish', run, outbox, committed });
  }

  /** Records the final record at once (after what is queued), then runs `committed`. */
  finishNow(run: RunRecord, outbox: OutboxEntry[], committed: () => void): Promise<void> {
    this.finish(run, outbox, committed);
    return this.flush();
  }

  /** Writes still waiting to be stored (queued, or failed and waiting for a retry). */
  get unstored(): number {
    return this.pending.length + this.failed.length + this.inCommit;
  }

  /**
   * Commits what is queued now, after the commits before it; writes that failed before go first.
   * Resolves once those writes are stored (or kept for a retry); never rejects.
   */
  flush(): Promise<void> {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    const taken = this.pending;
    this.pending = [];
    this.inCommit += taken.length;
    this.committing = this.committing.then(() => this.commitTaken(taken));
    return this.committing;
  }

  private async commitTaken(taken: Write[]): Promise<void> {
    const writes = [...this.failed, ...taken];
    if (writes.length === 0) return;
    this.inCommit += this.failed.length;
    this.failed = [];
    const kept = withoutSupersededStarts(writes);
    let unstored: Map<Write, 'retry' | 'dropped'>;
    try {
      unstored = await this.commit(kept);
    } finally {
      this.inCommit -= writes.length;
    }
    this.failed = kept.filter((w) => unstored.get(w) === 'retry');
    for (const write of kept) if (write.kind === 'finish' && !unstored.has(write)) this.notify(write);
    if (this.failed.length > 0) this.scheduleRetry();
    else this.retryDelayMs = RETRY_FIRST_MS;
  }

  /**
   * Shutdown: flushes, retrying failed writes until `timeoutMs` has passed. Resolves with the
   * number of writes that could still not be stored (their runs show as lost at the next start).
   */
  async settle(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    await this.flush();
    while (this.failed.length > 0 && Date.now() < deadline) {
      await new Promise((r) =>
        setTimeout(r, Math.min(this.retryDelayMs, Math.max(0, deadline - Date.now()))),
      );
      await this.flush();
    }
    this.cancelRetry();
    if (this.failed.length > 0)
      this.logger.error(
        { writes: this.failed.length },
        'run writes could not be stored before shutdown; those runs will be recorded as lost at the next start',
      );
    return this.failed.length;
  }

  private push(write: Write): void {
    this.pending.push(write);
    // After the I/O callbacks of this turn: every run that finished in it shares the commit.
    this.scheduled ??= setImmediate(() => void this.flush());
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(RETRY_MAX_MS, delay * 2);
    this.logger.warn({ writes: this.failed.length, retryInMs: delay }, 'run writes not stored yet; retrying');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.flush();
    }, delay);
    this.retryTimer.unref();
  }

  private cancelRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** Stores the writes; returns the outcome of those that were not stored. */
  private async commit(writes: readonly Write[]): Promise<Map<Write, 'retry' | 'dropped'>> {
    const unstored = new Map<Write, 'retry' | 'dropped'>();
    try {
      await this.store.transaction(async (tx) => {
        await tx.markStartedMany(writes.flatMap((w) => (w.kind === 'start' ? [w] : [])));
        await tx.finishRuns(writes.flatMap((w) => (w.kind === 'finish' ? [w] : [])));
      });
    } catch (err) {
      // Nothing of the batch is stored (one write failed, or the commit itself, e.g. the file
      // stayed locked past busy_timeout): write each on its own, so one bad write costs only itself.
      this.logger.warn({ err, writes: writes.length }, 'run writes: batch commit failed; writing one by one');
      for (const write of writes) {
        const outcome = await this.writeAlone(write);
        if (outcome !== 'stored') unstored.set(write, outcome);
      }
    }
    return unstored;
  }

  private write(ops: StoreOps, write: Write): Promise<void> {
    if (write.kind === 'start') return ops.markStarted(write.id, write.fields);
    return ops.finishRun(write.run, write.outbox);
  }

  /** One write in its own transaction: stored, to be retried, or dropped (it can never succeed). */
  private async writeAlone(write: Write): Promise<'stored' | 'retry' | 'dropped'> {
    try {
      await this.write(this.store, write);
      return 'stored';
    } catch (err) {
      const transient = isTransient(err);
      const what = write.kind === 'start' ? 'a run start' : 'a finished run';
      const ids = write.kind === 'start' ? { run: write.id } : { run: write.run.id, job: write.run.job };
      if (transient) this.logger.warn({ err, ...ids }, `could not record ${what} yet; it will be retried`);
      else this.logger.error({ err, ...ids }, `could not record ${what}; dropped (not retryable)`);
      return transient ? 'retry' : 'dropped';
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

/** Store errors that may go away (lock, full disk, I/O, read-only remount), as SQLite codes them. */
const TRANSIENT = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|READONLY|CANTOPEN|PROTOCOL|NOMEM|INTERRUPT)/;
/**
 * PostgreSQL SQLSTATE classes that may go away: connection (08), resources (53), operator
 * intervention such as a restart (57), system errors (58), serialization/deadlock (40).
 */
const PG_TRANSIENT = /^(08|53|57|58|40)/;
/** Node's errors for a connection that could not be made or was cut. */
const NET_TRANSIENT = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH)$/;

function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return isPoolError(err);
  return (
    TRANSIENT.test(code) ||
    NET_TRANSIENT.test(code) ||
    (/^[0-9A-Z]{5}$/.test(code) && PG_TRANSIENT.test(code))
  );
}

/** pg's own errors for a pool that lost its server (no code). */
function isPoolError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    message,
  );
}
