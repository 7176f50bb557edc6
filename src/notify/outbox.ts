import type { JobDef, RunRecord } from '../core/types.js';
import type { OutboxEntry } from '../store/store.js';

/** The job as it was when the run finished (the file may change before the notice goes out). */
export interface JobSnapshot {
  name: string;
  description: string | null;
  owners: JobDef['owners'];
  notify: JobDef['notify'];
  command: JobDef['command'];
  tags: string[];
}

export type NotifyPayload =
  | { kind: 'run_finished'; run: RunRecord; job: JobSnapshot | null }
  | { kind: 'host_key_changed'; node: string; host: string; expected: string; actual: string; at: string };

export function jobSnapshot(job: JobDef): JobSnapshot {
  return {
    name: job.name,
    description: job.description ?? null,
    owners: job.owners,
    notify: job.notify,
    command: job.command,
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
