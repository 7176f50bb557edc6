import type { JobDef, RunRecord } from '../core/types.js';
import type { OutboxEntry } from '../store/store.js';

/** What the Elasticsearch shipper finds in its outbox: the final run plus job facts for the report. */
export interface EsRunPayload {
  run: RunRecord;
  tags: string[];
  description: string | null;
}

/** Queued in the transaction that finishes a run; key = run id, so replays never duplicate. */
export function esOutboxEntry(run: RunRecord, job: JobDef | undefined): OutboxEntry {
  const payload: EsRunPayload = { run, tags: job?.tags ?? [], description: job?.description ?? null };
  return { sink: 'elasticsearch', key: run.id, payload };
}
