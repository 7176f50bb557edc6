import type { JobDef, NotifyEvent, RunRecord } from '../core/types.js';
import type { OutboxEntry } from '../store/store.js';

/**
 * A webhook as persisted in the outbox: never the inline secret itself (the outbox and the
 * dead-letter table are readable through SQLite and the API). `hasSecret` tells the deliverer to
 * look the secret up in the current job definition when it signs; `secretEnv` is only a name.
 */
export interface WebhookSnapshot {
  url: string;
  on?: NotifyEvent[];
  secretEnv?: string;
  hasSecret: boolean;
  format: 'json' | 'slack';
}

/** The job as it was when the run finished (the file may change before the notice goes out). */
export interface JobSnapshot {
  name: string;
  description: string | null;
  owners: JobDef['owners'];
  notify: { on: NotifyEvent[]; email: string[]; webhooks: WebhookSnapshot[]; remindEveryMs?: number };
  command: JobDef['command'];
  tags: string[];
}

export type NotifyPayload =
  | { kind: 'run_finished'; run: RunRecord; job: JobSnapshot | null }
  | { kind: 'host_key_changed'; node: string; host: string; expected: string; actual: string; at: string };

export function webhookSnapshot(hook: JobDef['notify']['webhooks'][number]): WebhookSnapshot {
  const snap: WebhookSnapshot = { url: hook.url, hasSecret: hook.secret !== undefined, format: hook.format };
  if (hook.on) snap.on = hook.on;
  if (hook.secretEnv !== undefined) snap.secretEnv = hook.secretEnv;
  return snap;
}

export function jobSnapshot(job: JobDef): JobSnapshot {
  const notify: JobSnapshot['notify'] = {
    on: job.notify.on,
    email: job.notify.email,
    webhooks: job.notify.webhooks.map(webhookSnapshot),
  };
  if (job.notify.remindEveryMs !== undefined) notify.remindEveryMs = job.notify.remindEveryMs;
  return {
    name: job.name,
    description: job.description ?? null,
    owners: job.owners,
    notify,
    // A script's bytes (up to 1 MiB) stay out of every notification queued.
    command: job.command.kind === 'script' ? { ...job.command, content: Buffer.alloc(0) } : job.command,
    tags: job.tags,
  };
}

/** Every final run goes to the notifier, which decides (with its persisted state) what to send. */
export function runFinishedEntry(run: RunRecord, job: JobDef | undefined): OutboxEntry {
  const payload: NotifyPayload = { kind: 'run_finished', run, job: job ? jobSnapshot(job) : null };
  return { sink: 'notify', key: `run:${run.id}`, payload };
}

export function hostKeyChangedEntry(event: {
  node: string;
  host: string;
  expected: string;
  actual: string;
  at: string;
}): OutboxEntry {
  const payload: NotifyPayload = { kind: 'host_key_changed', ...event };
  return { sink: 'notify', key: `hostkey:${event.node}:${event.actual}:${event.at}`, payload };
}
