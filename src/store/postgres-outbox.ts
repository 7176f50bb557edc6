import { hostname } from 'node:os';
import type { Clock } from '../core/clock.js';
import { isoUtc, type Millis } from '../core/types.js';
import { PG_SQL as SQL } from './postgres-sql.js';
import type { Session } from './postgres-session.js';
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
import type {
  AuditRow,
  DeadLetter,
  NotifyState,
  OutboxEntry,
  OutboxItem,
  OutboxSink,
  OutboxStep,
} from './store.js';

const OUTBOX_SINKS: readonly OutboxSink[] = ['elasticsearch', 'notify', 'email', 'webhook'];
const rowLimit = (limit: number) => Math.max(0, Math.floor(limit));

/**
 * How long a member's claim on the outbox items it took lasts: longer than any one delivery
 * (the webhook, SMTP and Elasticsearch request timeouts), so a live member's items are never
 * taken by another, and short enough that a dead member's are delivered soon after.
 */
export const OUTBOX_CLAIM_MS = 60_000;
/** Who holds a claim (for an operator reading the table). */
const CLAIMANT = `${hostname()}:${process.pid}`;

/** Claimed rows come back in no particular order: consumers read them oldest first. */
function claimed(rows: OutboxRow[]): OutboxItem[] {
  return rows.map(rowToOutboxItem).sort((a, b) => a.id - b.id);
}

/** The outbox, notify-state and audit half of the PostgreSQL store (PgOps adds runs and job state). */
export abstract class PgOutboxOps {
  protected constructor(
    protected readonly s: Session,
    protected readonly clock: Clock,
  ) {}

  // ---- outbox --------------------------------------------------------------------------

  /** A key already pending for its sink is ignored (the first payload wins). */
  async enqueueOutbox(entries: OutboxEntry[]): Promise<void> {
    if (entries.length > 0) await this.s.atomically((s) => this.enqueue(s, entries));
  }

  protected async enqueue(s: Session, entries: readonly OutboxEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const rows = entries.map((e) => ({
      sink: e.sink,
      key: e.key,
      payload: JSON.stringify(e.payload ?? null),
    }));
    await s.query(SQL.enqueue, [JSON.stringify(rows), isoUtc(this.clock.now())]);
  }

  async takeOutbox(sink: OutboxSink, limit: number, now: Millis): Promise<OutboxItem[]> {
    if (sink === 'notify') {
      const { rows } = await this.s.query<OutboxRow>(SQL.takeInOrder, [sink, isoUtc(now), rowLimit(limit)]);
      return rows.map(rowToOutboxItem);
    }
    const values = [sink, isoUtc(now), rowLimit(limit), OUTBOX_CLAIM_MS, CLAIMANT];
    return claimed((await this.s.query<OutboxRow>(SQL.takeDue, values)).rows);
  }

  async takeOutboxAfter(
    sink: OutboxSink,
    afterId: number,
    limit: number,
    now: Millis,
  ): Promise<OutboxItem[]> {
    const values = [afterId, sink, isoUtc(now), rowLimit(limit), OUTBOX_CLAIM_MS, CLAIMANT];
    return claimed((await this.s.query<OutboxRow>(SQL.takeDueAfter, values)).rows);
  }

  async ackOutbox(ids: number[]): Promise<void> {
    if (ids.length > 0) await this.s.query(SQL.ackOutbox, [ids]);
  }

  async releaseOutbox(ids: number[]): Promise<void> {
    if (ids.length > 0) await this.s.query(SQL.releaseOutbox, [ids]);
  }

  async retryOutbox(id: number, error: string, nextAttemptAt: Millis): Promise<void> {
    await this.s.query(SQL.retryOutbox, [id, error, isoUtc(nextAttemptAt)]);
  }

  async deadLetter(id: number, reason: string, now: Millis): Promise<void> {
    await this.s.query(SQL.deadLetter, [id, reason, isoUtc(now)]);
  }

  async outboxBacklog(): Promise<Record<OutboxSink, number>> {
    const backlog = Object.fromEntries(OUTBOX_SINKS.map((s) => [s, 0])) as Record<OutboxSink, number>;
    const { rows } = await this.s.query<{ sink: OutboxSink; n: number }>(SQL.outboxBacklog);
    for (const row of rows) backlog[row.sink] = row.n;
    return backlog;
  }

  async listDeadLetters(
    sink?: OutboxSink,
    limit: number = STORE_DEFAULTS.deadLetterListLimit,
  ): Promise<DeadLetter[]> {
    const { rows } =
      sink === undefined
        ? await this.s.query<DeadLetterRow>(SQL.listDeadLetters, [limit])
        : await this.s.query<DeadLetterRow>(SQL.listDeadLettersForSink, [sink, limit]);
    return rows.map(rowToDeadLetter);
  }

  async commitOutboxStep(step: OutboxStep): Promise<void> {
    await this.s.atomically(async (s) => {
      if (step.ack.length > 0) await s.query(SQL.ackOutbox, [step.ack]);
      await this.enqueue(s, step.enqueue);
      for (const state of step.notifyStates) await this.writeNotifyState(s, state);
    });
  }

  // ---- notify state --------------------------------------------------------------------

  async getNotifyState(job: string): Promise<NotifyState | undefined> {
    const { rows } = await this.s.query<NotifyStateRow>(SQL.getNotifyState, [job]);
    return rows[0] && rowToNotifyState(rows[0]);
  }

  async listNotifyStates(): Promise<NotifyState[]> {
    const { rows } = await this.s.query<NotifyStateRow>(SQL.listNotifyStates);
    return rows.map(rowToNotifyState);
  }

  async setNotifyState(state: NotifyState): Promise<void> {
    await this.writeNotifyState(this.s, state);
  }

  private async writeNotifyState(s: Session, state: NotifyState): Promise<void> {
    const row = notifyStateToRow(state);
    await s.query(SQL.setNotifyState, [
      row.job,
      row.state,
      row.since,
      row.last_notified_at,
      row.last_reminder_at,
      row.flood_window_start,
      row.flood_count,
    ]);
  }

  // ---- audit ---------------------------------------------------------------------------

  async insertAudit(entry: Omit<AuditRow, 'id'>): Promise<void> {
    const { at, token, action, target, address, status } = entry;
    await this.s.query(SQL.insertAudit, [at, token, action, target, address, status]);
  }

  async listAudit(limit: number, before?: number): Promise<AuditRow[]> {
    const { rows } = await this.s.query<AuditRow>(SQL.listAudit, [before ?? Number.MAX_SAFE_INTEGER, limit]);
    return rows;
  }
}
