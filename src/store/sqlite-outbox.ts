import type { Database } from 'better-sqlite3';
import type { Clock } from '../core/clock.js';
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

/** The outbox and notify-state half of the SQLite store (SqliteStore adds runs and job state). */
export abstract class SqliteOutboxTables {
  protected constructor(
    protected readonly db: Database,
    protected readonly st: Statements,
    protected readonly clock: Clock,
  ) {}

  // ---- outbox --------------------------------------------------------------------------

  /** A key already pending for its sink is ignored (the first payload wins). */
  enqueueOutbox(entries: OutboxEntry[]): void {
    if (entries.length === 0) return;
    this.db.transaction(() => this.enqueue(entries)).immediate();
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
    const rows = this.st.takeOutbox.all(sink, isoUtc(now), Math.max(0, Math.floor(limit))) as OutboxRow[];
    return rows.map(rowToOutboxItem);
  }

  ackOutbox(ids: number[]): void {
    if (ids.length === 0) return;
    this.db.transaction(() => this.ack(ids)).immediate();
  }

  private ack(ids: readonly number[]): void {
    for (const id of ids) this.st.ackOutbox.run(id);
  }

  retryOutbox(id: number, error: string, nextAttemptAt: Millis): void {
    this.st.retryOutbox.run({ id, error, next: isoUtc(nextAttemptAt) });
  }

  deadLetter(id: number, reason: string, now: Millis): void {
    this.db
      .transaction(() => {
        if (this.st.copyToDeadLetters.run({ id, reason, now: isoUtc(now) }).changes === 0) return;
        this.st.ackOutbox.run(id);
      })
      .immediate();
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
    this.db
      .transaction(() => {
        this.ack(step.ack);
        this.enqueue(step.enqueue);
        for (const state of step.notifyStates) this.st.setNotifyState.run(notifyStateToRow(state));
      })
      .immediate();
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
