import type { Database } from 'better-sqlite3';
import type { Clock } from '../core/clock.js';
import { SPOILED_TRANSACTION } from './async-store.js';
import { isoUtc, type Millis } from '../core/types.js';
import {
  notifyStateToRow,
  rowToDeadLetter,
  rowToNotifyState,
  rowToOutboxItem,
  type DeadLetterRow,
  type NotifyStateRow,
  type OutboxRow,
} from './rows.js';
import { STORE_DEFAULTS } from './sqlite-open.js';
import type { Statements } from './statements.js';
import type { DeadLetter, NotifyState, OutboxEntry, OutboxItem, OutboxSink, OutboxStep } from './store.js';

const OUTBOX_SINKS: readonly OutboxSink[] = ['elasticsearch', 'notify', 'email', 'webhook'];
const rowLimit = (limit: number) => Math.max(0, Math.floor(limit));

/**
 * Outbox reads and deletes sized for a large backlog (a shipper catching up after an outage):
 * - takeDue sorts only the ids, from the covering index (sink, next_attempt_at, rowid), and
 *   then reads just the rows it returns; sorting whole rows read every due payload per take.
 * - takeDueAfter walks the primary key from a cursor, so a consumer with requests in flight
 *   reads on past them at the cost of the rows it returns, whatever the backlog.
 * - ackMany deletes a whole acknowledged batch in one statement.
 */
function prepareOutboxReads(db: Database) {
  return {
    takeDue: db.prepare(`SELECT * FROM outbox WHERE id IN
      (SELECT id FROM outbox WHERE sink = ? AND next_attempt_at <= ? ORDER BY id LIMIT ?) ORDER BY id`),
    takeDueAfter: db.prepare(`SELECT * FROM outbox NOT INDEXED
      WHERE id > ? AND sink = ? AND next_attempt_at <= ? ORDER BY id LIMIT ?`),
    ackMany: db.prepare('DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?))'),
  };
}

/** The outbox and notify-state half of the SQLite store (SqliteStore adds runs and job state). */
export abstract class SqliteOutboxTables {
  /**
   * One IMMEDIATE transaction wrapper, made once: better-sqlite3's db.transaction() builds four
   * wrapper functions per call, which cost more than the writes of a small transaction.
   */
  private readonly immediate: <T>(body: () => T) => T;
  /** A write inside the open batch() failed: the batch must not commit (see batch()). */
  private batchSpoiled = false;

  protected constructor(
    protected readonly db: Database,
    protected readonly st: Statements,
    protected readonly clock: Clock,
  ) {
    const tx = db.transaction((body: () => unknown) => body());
    this.immediate = tx.immediate as <T>(body: () => T) => T;
  }

  /**
   * Several writes, one commit (one WAL append instead of one per write), all or nothing: when
   * `writes` throws, or any write inside it failed (even one whose error `writes` caught), the
   * whole batch is undone and batch() throws. Writes inside take no savepoint of their own — a
   * savepoint per write costs as much as the write — so a failed one may have left a part
   * behind that only undoing the batch removes.
   */
  batch<T>(writes: () => T): T {
    if (this.db.inTransaction) return writes();
    this.batchSpoiled = false;
    this.batching = true;
    try {
      return this.immediate(() => {
        const result = writes();
        if (this.batchSpoiled)
          throw new Error('store: a write inside batch() failed; the whole batch is undone');
        this.beforeBatchCommit();
        return result;
      });
    } finally {
      this.batching = false;
      this.afterBatch();
    }
  }

  /**
   * batch() for an asynchronous body (the AsyncStore's transaction()): BEGIN IMMEDIATE, await
   * the body, COMMIT — same all-or-nothing rule. The caller keeps every other use of this
   * connection waiting until it settles (the transaction is open across awaits).
   */
  async batchAsync<T>(writes: () => Promise<T>): Promise<T> {
    if (this.db.inTransaction) throw new Error('store: batchAsync() inside an open transaction');
    this.db.exec('BEGIN IMMEDIATE');
    this.batchSpoiled = false;
    this.batching = true;
    try {
      const result = await writes();
      if (this.batchSpoiled) throw new Error(SPOILED_TRANSACTION);
      this.beforeBatchCommit();
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    } finally {
      this.batching = false;
      this.afterBatch();
    }
  }

  /** Inside batch(): writes that only the last of the batch needs may wait for beforeBatchCommit(). */
  protected batching = false;

  /** Last writes of a batch, inside its transaction. */
  protected beforeBatchCommit(): void {}

  /** After a batch, committed or undone: forget what it deferred. */
  protected afterBatch(): void {}

  /** Runs `body` in one IMMEDIATE transaction, or as part of the transaction already open (batch()). */
  protected atomically<T>(body: () => T): T {
    if (!this.db.inTransaction) return this.immediate(body);
    try {
      return body();
    } catch (err) {
      this.batchSpoiled = true;
      throw err;
    }
  }

  // ---- outbox --------------------------------------------------------------------------

  private reads: ReturnType<typeof prepareOutboxReads> | undefined;

  private get outboxReads(): ReturnType<typeof prepareOutboxReads> {
    return (this.reads ??= prepareOutboxReads(this.db));
  }

  /** A key already pending for its sink is ignored (the first payload wins). */
  enqueueOutbox(entries: OutboxEntry[]): void {
    if (entries.length === 0) return;
    this.atomically(() => this.enqueue(entries));
  }

  protected enqueue(entries: readonly OutboxEntry[]): void {
    const now = isoUtc(this.clock.now());
    for (const entry of entries) {
      this.st.enqueue.run({
        sink: entry.sink,
        key: entry.key,
        payload: JSON.stringify(entry.payload ?? null),
        now,
      });
    }
  }

  takeOutbox(sink: OutboxSink, limit: number, now: Millis): OutboxItem[] {
    const rows = this.outboxReads.takeDue.all(sink, isoUtc(now), rowLimit(limit)) as OutboxRow[];
    return rows.map(rowToOutboxItem);
  }

  takeOutboxAfter(sink: OutboxSink, afterId: number, limit: number, now: Millis): OutboxItem[] {
    const { takeDueAfter } = this.outboxReads;
    const rows = takeDueAfter.all(afterId, sink, isoUtc(now), rowLimit(limit)) as OutboxRow[];
    return rows.map(rowToOutboxItem);
  }

  ackOutbox(ids: number[]): void {
    if (ids.length === 0) return;
    this.atomically(() => this.ack(ids));
  }

  private ack(ids: readonly number[]): void {
    if (ids.length === 1) this.st.ackOutbox.run(ids[0]);
    else if (ids.length > 1) this.outboxReads.ackMany.run(JSON.stringify(ids));
  }

  retryOutbox(id: number, error: string, nextAttemptAt: Millis): void {
    this.st.retryOutbox.run({ id, error, next: isoUtc(nextAttemptAt) });
  }

  deadLetter(id: number, reason: string, now: Millis): void {
    this.atomically(() => {
      if (this.st.copyToDeadLetters.run({ id, reason, now: isoUtc(now) }).changes === 0) return;
      this.st.ackOutbox.run(id);
    });
  }

  outboxBacklog(): Record<OutboxSink, number> {
    const backlog = Object.fromEntries(OUTBOX_SINKS.map((s) => [s, 0])) as Record<OutboxSink, number>;
    for (const row of this.st.outboxBacklog.all() as { sink: OutboxSink; n: number }[])
      backlog[row.sink] = row.n;
    return backlog;
  }

  listDeadLetters(sink?: OutboxSink, limit: number = STORE_DEFAULTS.deadLetterListLimit): DeadLetter[] {
    const rows = (
      sink === undefined
        ? this.st.listDeadLetters.all(limit)
        : this.st.listDeadLettersForSink.all(sink, limit)
    ) as DeadLetterRow[];
    return rows.map(rowToDeadLetter);
  }

  commitOutboxStep(step: OutboxStep): void {
    this.atomically(() => {
      this.ack(step.ack);
      this.enqueue(step.enqueue);
      for (const state of step.notifyStates) this.st.setNotifyState.run(notifyStateToRow(state));
    });
  }

  // ---- notify state --------------------------------------------------------------------

  getNotifyState(job: string): NotifyState | undefined {
    const row = this.st.getNotifyState.get(job) as NotifyStateRow | undefined;
    return row && rowToNotifyState(row);
  }

  listNotifyStates(): NotifyState[] {
    return (this.st.listNotifyStates.all() as NotifyStateRow[]).map(rowToNotifyState);
  }

  setNotifyState(state: NotifyState): void {
    this.st.setNotifyState.run(notifyStateToRow(state));
  }
}
