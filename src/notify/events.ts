/**
 * The pure decision core of notifications: no I/O, no clock. Given the persisted NotifyState of a
 * job and one finished run, it says what the job's state becomes and which messages go to whom.
 *
 * Decisions (SPEC §10, written down here because the spec is silent on them):
 * - failing = failed | timed_out | error | lost. `failure` fires only on the change ok→failing
 *   (a job with no state yet counts as ok), so 100 failures in a row give one message.
 * - `recovery` fires on the first success after failing; `success` (opt-in) on every success.
 *   Each target gets at most one message per run: on a recovering run a target subscribed to
 *   `recovery` gets the recovery, one subscribed only to `success` gets the success.
 * - `missed` fires for every run with status missed and leaves the ok/failing state alone.
 *   cancelled and skipped change nothing and send nothing.
 * - `still_failing` reaches every target subscribed to `still_failing` or to `failure`, so the
 *   default `["failure", "recovery"]` gets reminders; `remindEveryMs: 0` switches them off.
 * - Flood guard: one "notification" = one event of one job fanned out to all its targets, so
 *   each target gets at most N messages per job per fixed one-hour window. The N-th carries a
 *   notice that further ones are suppressed until the window ends; suppressed events still move
 *   the state (a suppressed failure is not re-sent later, the reminder covers it).
 */
import { createHash } from 'node:crypto';
import type { Millis, NotifyEvent, RunRecord, RunStatus } from '../core/types.js';
import type { NotifyState } from '../store/store.js';
import type { JobSnapshot, WebhookSnapshot } from './outbox.js';

export type MessageEvent = NotifyEvent | 'host_key_changed';

export const HOUR_MS = 3_600_000;

const FAILING: ReadonlySet<RunStatus> = new Set<RunStatus>(['failed', 'timed_out', 'error', 'lost']);

export function isFailingStatus(status: RunStatus): boolean {
  return FAILING.has(status);
}

export type Target = { channel: 'email'; to: string } | { channel: 'webhook'; webhook: WebhookSnapshot };

export interface Delivery {
  event: MessageEvent;
  target: Target;
}

export interface FloodVerdict {
  allowed: boolean;
  /** This is the last message allowed in the window: it must say that more are suppressed. */
  last: boolean;
  windowEndsAt: Millis;
}

export interface Decision {
  state: NotifyState;
  deliveries: Delivery[];
  /** null when nothing was to be sent (the guard is only consulted for real messages). */
  flood: FloodVerdict | null;
}

export interface DecideOptions {
  floodPerHour: number;
  /** false when no SMTP is configured: e-mail targets are left out. */
  email: boolean;
}

export function freshState(job: string, at: Millis): NotifyState {
  return {
    job,
    state: 'ok',
    since: at,
    lastNotifiedAt: null,
    lastReminderAt: null,
    floodWindowStart: null,
    floodCount: 0,
  };
}

/** The events a run stands for and the job's next ok/failing state, before subscriptions. */
export function transition(
  prev: NotifyState | undefined,
  run: RunRecord,
  at: Millis,
): { state: NotifyState; events: NotifyEvent[] } {
  const base = prev ?? freshState(run.job, at);
  if (isFailingStatus(run.status)) {
    if (base.state === 'failing') return { state: base, events: [] };
    return { state: { ...base, state: 'failing', since: at, lastReminderAt: null }, events: ['failure'] };
  }
  if (run.status === 'succeeded') {
    if (base.state === 'ok') return { state: base, events: ['success'] };
    return {
      state: { ...base, state: 'ok', since: at, lastReminderAt: null },
      events: ['recovery', 'success'],
    };
  }
  if (run.status === 'missed') return { state: base, events: ['missed'] };
  return { state: base, events: [] };
}

export function subscribes(on: readonly NotifyEvent[], event: MessageEvent): boolean {
  if (event === 'host_key_changed') return false;
  return on.includes(event) || (event === 'still_failing' && on.includes('failure'));
}

/** Owners first, then notify.email; duplicates (case-insensitive) dropped. */
export function emailRecipients(job: JobSnapshot): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const address of [...job.owners.map((o) => o.email), ...job.notify.email]) {
    const norm = address.trim().toLowerCase();
    if (norm === '' || seen.has(norm)) continue;
    seen.add(norm);
    out.push(address.trim());
  }
  return out;
}

/** Each target gets the first of `events` (in priority order) it subscribes to, or nothing. */
export function planDeliveries(
  events: NotifyEvent[],
  job: JobSnapshot,
  options: { email: boolean },
): Delivery[] {
  const deliveries: Delivery[] = [];
  const pick = (on: readonly NotifyEvent[]) => events.find((e) => subscribes(on, e));
  const emailEvent = pick(job.notify.on);
  if (options.email && emailEvent) {
    for (const to of emailRecipients(job))
      deliveries.push({ event: emailEvent, target: { channel: 'email', to } });
  }
  for (const webhook of job.notify.webhooks) {
    const event = pick(webhook.on ?? job.notify.on);
    if (event) deliveries.push({ event, target: { channel: 'webhook', webhook } });
  }
  return deliveries;
}

/** Counts one notification against the job's fixed one-hour window. perHour <= 0: no limit. */
export function admit(
  state: NotifyState,
  now: Millis,
  perHour: number,
): { state: NotifyState; verdict: FloodVerdict } {
  const fresh =
    state.floodWindowStart === null ||
    now >= state.floodWindowStart + HOUR_MS ||
    now < state.floodWindowStart;
  const windowStart = fresh ? now : (state.floodWindowStart as Millis);
  const count = fresh ? 0 : state.floodCount;
  const windowEndsAt = windowStart + HOUR_MS;
  if (perHour > 0 && count >= perHour) {
    return {
      state: { ...state, floodWindowStart: windowStart, floodCount: count },
      verdict: { allowed: false, last: false, windowEndsAt },
    };
  }
  const next = { ...state, floodWindowStart: windowStart, floodCount: count + 1, lastNotifiedAt: now };
  return {
    state: next,
    verdict: { allowed: true, last: perHour > 0 && count + 1 === perHour, windowEndsAt },
  };
}

function guarded(state: NotifyState, deliveries: Delivery[], now: Millis, options: DecideOptions): Decision {
  if (deliveries.length === 0) return { state, deliveries, flood: null };
  const { state: next, verdict } = admit(state, now, options.floodPerHour);
  return { state: next, deliveries: verdict.allowed ? deliveries : [], flood: verdict };
}

/** Parses the run's finish time; falls back to `now` for runs without one. */
export function finishedAt(run: RunRecord, now: Millis): Millis {
  const t = run.finished_at ? Date.parse(run.finished_at) : NaN;
  return Number.isFinite(t) ? t : now;
}

export function decideRun(
  prev: NotifyState | undefined,
  run: RunRecord,
  job: JobSnapshot | null,
  now: Millis,
  options: DecideOptions,
): Decision {
  const { state, events } = transition(prev, run, finishedAt(run, now));
  const deliveries = job ? planDeliveries(events, job, options) : [];
  return guarded(state, deliveries, now, options);
}

/** When the next reminder of a failing job is due; null when none will be. */
export function reminderDueAt(state: NotifyState, everyMs: number): Millis | null {
  if (state.state !== 'failing' || !(everyMs > 0)) return null;
  return (state.lastReminderAt ?? state.since) + everyMs;
}

/** A reminder for a failing job whose reminder is due at or before `now`; null when none is. */
export function decideReminder(
  state: NotifyState,
  job: JobSnapshot,
  now: Millis,
  options: DecideOptions & { remindEveryMs: number },
): (Decision & { dueAt: Millis }) | null {
  const dueAt = reminderDueAt(state, job.notify.remindEveryMs ?? options.remindEveryMs);
  if (dueAt === null || now < dueAt) return null;
  const deliveries = planDeliveries(['still_failing'], job, options);
  const decision = guarded({ ...state, lastReminderAt: now }, deliveries, now, options);
  return { ...decision, dueAt };
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * Deterministic idempotency key of one message: `<event>:<ref>:<channel>:<target>`, where ref is
 * the run id (or the reminder's instant) and a webhook target is a hash of its URL (webhook URLs
 * such as Slack's carry a secret in their path). Re-processing the same item yields the same keys.
 */
export function deliveryKey(ref: string, delivery: Delivery): string {
  const t = delivery.target;
  const target =
    t.channel === 'email' ? `email:${t.to.toLowerCase()}` : `webhook:${shortHash(t.webhook.url)}`;
  return `${delivery.event}:${ref}:${target}`;
}
