/**
 * What a queue entry carries about its job (SPEC §15). A job from a file is named only: the
 * member that takes the execution runs its own loaded definition (the members share their
 * configuration). An ad-hoc command has no file, so its definition travels in the entry.
 */
import type { JobDef } from '../core/types.js';
import type { QueueEntry } from '../store/async-store.js';
import { ADHOC_JOB } from './adhoc.js';

const BUFFER_TAG = '$distcron_base64';

export function queueEntryOf(job: JobDef, executionId: string, afterPrevious: boolean): QueueEntry {
  const jobDef = job.name === ADHOC_JOB ? JSON.stringify(job, encodeBuffers) : null;
  return { executionId, job: job.name, afterPrevious, jobDef };
}

/** The definition of a queue entry; a script's bytes come back as a Buffer. */
export function parseQueuedJob(json: string): JobDef {
  return JSON.parse(json, decodeBuffers) as JobDef;
}

function encodeBuffers(this: unknown, _key: string, value: unknown): unknown {
  // JSON.stringify calls Buffer's toJSON before the replacer: {type: 'Buffer', data: [...]}.
  if (isBufferJson(value)) return { [BUFFER_TAG]: Buffer.from(value.data).toString('base64') };
  return value;
}

function decodeBuffers(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && BUFFER_TAG in value)
    return Buffer.from(String((value as Record<string, unknown>)[BUFFER_TAG]), 'base64');
  return value;
}

function isBufferJson(value: unknown): value is { type: 'Buffer'; data: number[] } {
  return (
    value !== null &&
    typeof value === 'object' &&
    (value as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((value as { data?: unknown }).data)
  );
}
