/**
 * Turns `notify` outbox items (finished runs, host-key changes) and due reminders into `email`
 * and `webhook` outbox entries. Each item is one read-decide-commit in a transaction: the item's ack,
 * the job's new NotifyState and the message entries go to the store in ONE commitOutboxStep, so a
 * crash before it re-processes the item from the same state (same keys), and a crash after it
 * finds the messages queued — nothing lost, nothing doubled.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../core/log.js';
import { isoUtc, type JobDef, type Millis, type RunRecord } from '../core/types.js';
import type { AsyncStore, StoreOps } from '../store/async-store.js';
import type { NotifyState, OutboxEntry, OutboxItem } from '../store/store.js';
import { decideReminder, decideRun, isFailingStatus, reminderDueAt, type Decision } from './events.js';
import { jobFacts, outboxEntryFor, runForMessage, type Notification } from './message.js';
import { jobSnapshot, type JobSnapshot, type NotifyPayload } from './outbox.js';

export interface PlannerOptions {
  store: AsyncStore;
  logger: Logger;
  floodPerHour: number;
  remindEveryMs: number;
  /** false without SMTP: no e-mail entries are produced. */
  email: boolean;
  adminEmail?: string;
  /** The daemon's current job definitions (reminders go to today's owners). */
  jobs?: (name: string) => JobDef | undefined;
}

/** How many recent runs a reminder looks through for the latest failing one. */
const REMINDER_RUN_LOOKBACK = 20;

/** Guards the decision core against a damaged payload (it would fail on every poll otherwise). */
function isRunLike(run: unknown): run is RunRecord {
  const r = run as Partial<RunRecord> | null;
  return typeof r?.id === 'string' && typeof r.job === 'string' && typeof r.status === 'string';
}

function sameState(a: NotifyState | undefined, b: NotifyState): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

export class NotifyPlanner {
  constructor(private readonly options: PlannerOptions) {}

  /** Handles the due `notify` items; returns how many messages were queued. */
  async processNotifyItems(now: Millis, limit: number): Promise<{ items: number; messages: number }> {
    // One commit for the round (each item's step stays atomic within it): a fan-out's hundreds
    // of finished runs cost one WAL append, not one each. The items are taken inside it: in a
    // cluster another member's planner waits for them, so each job's decisions stay in order.
    // The log lines wait for the commit.
    const store = this.options.store;
    if ((await store.takeOutbox('notify', 1, now)).length === 0) return { items: 0, messages: 0 };
    const logs: (() => void)[] = [];
    const round = await store.transaction(async (tx) => {
      const items = await tx.takeOutbox('notify', limit, now);
      let queued = 0;
      for (const item of items) queued += await this.handle(tx, item, now, logs);
      return { items: items.length, messages: queued };
    });
    for (const log of logs) log();
    return round;
  }

  private async handle(tx: StoreOps, item: OutboxItem, now: Millis, logs: (() => void)[]): Promise<number> {
    const payload = item.payload as NotifyPayload | null;
    if (payload?.kind === 'run_finished' && isRunLike(payload.run))
      return this.handleRun(tx, item, payload, now, logs);
    if (payload?.kind === 'host_key_changed') return this.handleHostKey(tx, item, payload);
    await tx.deadLetter(item.id, 'notify: unknown notify payload (written by a newer daemon?)', now);
    return 0;
  }

  private snapshotFor(run: RunRecord, job: JobSnapshot | null): JobSnapshot | null {
    if (job) return job;
    const current = this.options.jobs?.(run.job);
    return current ? jobSnapshot(current) : null;
  }

  private async handleRun(
    tx: StoreOps,
    item: OutboxItem,
    payload: Extract<NotifyPayload, { kind: 'run_finished' }>,
    now: Millis,
    logs: (() => void)[],
  ): Promise<number> {
    const job = this.snapshotFor(payload.run, payload.job);
    const prev = await tx.getNotifyState(payload.run.job);
    const decision = decideRun(prev, payload.run, job, now, this.options);
    const base: Notification = {
      event: 'failure',
      job: job ? jobFacts(job) : null,
      run: runForMessage(payload.run),
    };
    const enqueue = this.entries(payload.run.id, decision, base, job?.name ?? null);
    await tx.commitOutboxStep({
      ack: [item.id],
      enqueue,
      notifyStates: sameState(prev, decision.state) ? [] : [decision.state],
    });
    logs.push(() =>
      this.logDecision(payload.run.job, `run ${payload.run.id} ${payload.run.status}`, decision, enqueue),
    );
    return enqueue.length;
  }

  private entries(
    ref: string,
    decision: Decision,
    base: Notification,
    jobName: string | null,
  ): OutboxEntry[] {
    const note: Notification = decision.flood?.last
      ? { ...base, suppressedUntil: isoUtc(decision.flood.windowEndsAt) }
      : base;
    return decision.deliveries.map((d) => outboxEntryFor(ref, d, note, jobName));
  }

  private logDecision(job: string, what: string, decision: Decision, enqueue: OutboxEntry[]): void {
    const events = [...new Set(decision.deliveries.map((d) => d.event))];
    if (decision.flood && !decision.flood.allowed) {
      this.options.logger.warn(
        { job, until: isoUtc(decision.flood.windowEndsAt) },
        `notify: flood guard suppressed a notification for ${what}`,
      );
    } else if (enqueue.length > 0) {
      this.options.logger.info(
        { job, events, messages: enqueue.length },
        `notify: ${what} → ${events.join(', ')}`,
      );
    }
  }

  private async handleHostKey(
    tx: StoreOps,
    item: OutboxItem,
    payload: Extract<NotifyPayload, { kind: 'host_key_changed' }>,
  ): Promise<number> {
    const { adminEmail, email, logger } = this.options;
    const { kind: _kind, ...hostKey } = payload;
    const enqueue: OutboxEntry[] = [];
    if (adminEmail && email) {
      const ref = `${payload.node}:${createHash('sha256').update(item.key).digest('hex').slice(0, 16)}`;
      const note: Notification = { event: 'host_key_changed', job: null, run: null, hostKey };
      enqueue.push(
        outboxEntryFor(
          ref,
          { event: 'host_key_changed', target: { channel: 'email', to: adminEmail } },
          note,
          null,
        ),
      );
    } else {
      logger.warn(
        { node: payload.node },
        'notify: a host key changed but no --admin-email and --smtp-url are set; nobody is told',
      );
    }
    await tx.commitOutboxStep({ ack: [item.id], enqueue, notifyStates: [] });
    return enqueue.length;
  }

  private remindEvery(job: JobSnapshot): number {
    return job.notify.remindEveryMs ?? this.options.remindEveryMs;
  }

  /** Queues every due still_failing reminder; returns how many messages were queued. */
  async processReminders(now: Millis): Promise<number> {
    let messages = 0;
    for (const state of await this.options.store.listNotifyStates()) {
      if (state.state !== 'failing') continue;
      const def = this.options.jobs?.(state.job);
      if (def) messages += await this.remind(state, jobSnapshot(def), now);
    }
    return messages;
  }

  private async remind(state: NotifyState, job: JobSnapshot, now: Millis): Promise<number> {
    const decision = decideReminder(state, job, now, {
      ...this.options,
      remindEveryMs: this.remindEvery(job),
    });
    if (!decision) return 0;
    const lastRun = await this.lastFailingRun(state.job);
    const base: Notification = {
      event: 'still_failing',
      job: jobFacts(job),
      run: lastRun ? runForMessage(lastRun) : null,
      failingSince: isoUtc(state.since),
    };
    const enqueue = this.entries(`${state.job}@${isoUtc(decision.dueAt)}`, decision, base, job.name);
    await this.options.store.commitOutboxStep({ ack: [], enqueue, notifyStates: [decision.state] });
    this.logDecision(state.job, 'still failing', decision, enqueue);
    return enqueue.length;
  }

  private async lastFailingRun(job: string): Promise<RunRecord | undefined> {
    const page = await this.options.store.queryRuns({ job, limit: REMINDER_RUN_LOOKBACK, withOutput: true });
    return page.runs.find((r) => isFailingStatus(r.status));
  }

  /** The earliest instant a reminder is due for any failing job; null when none is. */
  async nextReminderAt(): Promise<Millis | null> {
    let next: Millis | null = null;
    for (const state of await this.options.store.listNotifyStates()) {
      const def = state.state === 'failing' ? this.options.jobs?.(state.job) : undefined;
      const due = def ? reminderDueAt(state, this.remindEvery(jobSnapshot(def))) : null;
      if (due !== null && (next === null || due < next)) next = due;
    }
    return next;
  }
}
