/**
 * What the notifier persists per message in the `email` and `webhook` outboxes. Payloads hold the
 * facts, not rendered text: the deliverer renders at send time (pure functions in render.ts), and
 * they never hold a secret — the dead-letter table is readable through the API.
 */
import type { CommandSpec, RunRecord } from '../core/types.js';
import type { OutboxEntry } from '../store/store.js';
import { deliveryKey, type Delivery, type MessageEvent } from './events.js';
import type { JobSnapshot, WebhookSnapshot } from './outbox.js';

/** Lines of stdout and of stderr a message carries (the tail: the end is where errors are). */
export const TAIL_LINES = 50;
/** Bound on each tail's size, whatever the line lengths. */
export const TAIL_MAX_CHARS = 16_384;

export interface JobFacts {
  name: string;
  description: string | null;
  command: CommandSpec;
  tags: string[];
}

export interface HostKeyFacts {
  node: string;
  host: string;
  expected: string;
  actual: string;
  at: string;
}

export interface Notification {
  event: MessageEvent;
  job: JobFacts | null;
  /** The run with stdout/stderr cut to their last TAIL_LINES lines. */
  run: RunRecord | null;
  /** still_failing: ISO time the job started failing. */
  failingSince?: string;
  hostKey?: HostKeyFacts;
  /** Set on the last message the flood guard lets through: ISO end of the suppression window. */
  suppressedUntil?: string;
}

export interface EmailPayload {
  to: string;
  notification: Notification;
}

export interface WebhookPayload {
  /** Job whose definition holds the webhook's inline secret (looked up at send time). */
  job: string | null;
  webhook: WebhookSnapshot;
  notification: Notification;
}

/** The last `lines` lines of `text` (a trailing newline does not count as an empty line). */
export function tailLines(text: string, lines = TAIL_LINES, maxChars = TAIL_MAX_CHARS): string {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (body === '') return '';
  const all = body.split('\n');
  const tail = all.slice(-lines).join('\n');
  return tail.length > maxChars ? tail.slice(tail.length - maxChars) : tail;
}

export function runForMessage(run: RunRecord): RunRecord {
  return { ...run, stdout: tailLines(run.stdout), stderr: tailLines(run.stderr) };
}

export function jobFacts(job: JobSnapshot): JobFacts {
  return { name: job.name, description: job.description, command: job.command, tags: job.tags };
}

export function outboxEntryFor(
  ref: string,
  delivery: Delivery,
  notification: Notification,
  jobName: string | null,
): OutboxEntry {
  const key = deliveryKey(ref, delivery);
  const t = delivery.target;
  const note: Notification = { ...notification, event: delivery.event };
  if (t.channel === 'email') {
    const payload: EmailPayload = { to: t.to, notification: note };
    return { sink: 'email', key, payload };
  }
  const payload: WebhookPayload = { job: jobName, webhook: t.webhook, notification: note };
  return { sink: 'webhook', key, payload };
}
