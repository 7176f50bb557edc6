import type { OutboxItem } from '../store/store.js';
import { indexAt, runToDocument } from './document.js';
import type { EsRunPayload } from './outbox.js';

/** One bulk request: NDJSON lines (action, source) for `items`, in the same order. */
export interface BulkBatch {
  lines: string[];
  items: OutboxItem[];
  /** Items that can never become a document (corrupt payload): dead letters, never sent. */
  invalid: { item: OutboxItem; reason: string }[];
}

/**
 * Takes items in outbox order until the byte cap; the first document always goes, so one
 * oversized run cannot stall the queue. Items left over stay in the outbox for the next batch.
 */
export function buildBulkBatch(items: readonly OutboxItem[], maxBytes: number): BulkBatch {
  const batch: BulkBatch = { lines: [], items: [], invalid: [] };
  let bytes = 0;
  for (const item of items) {
    const lines = bulkLines(item);
    if (typeof lines === 'string') {
      batch.invalid.push({ item, reason: lines });
      continue;
    }
    const size = Buffer.byteLength(lines[0]) + Buffer.byteLength(lines[1]) + 2;
    if (batch.items.length > 0 && bytes + size > maxBytes) break;
    bytes += size;
    batch.lines.push(lines[0], lines[1]);
    batch.items.push(item);
  }
  return batch;
}

/** The action and source lines of one run, or the reason it cannot be indexed. */
function bulkLines(item: OutboxItem): [string, string] | string {
  if (!isRunPayload(item.payload)) return 'report: outbox payload is not a run report (corrupt entry)';
  try {
    const doc = runToDocument(item.payload);
    // The index name is ASCII letters, digits and dots; only the id needs JSON quoting.
    const action = `{"index":{"_index":"${indexAt(doc['@timestamp'])}","_id":${JSON.stringify(doc.run_id)}}}`;
    return [action, JSON.stringify(doc)];
  } catch (err) {
    return (err as Error).message;
  }
}

function isRunPayload(payload: unknown): payload is EsRunPayload {
  const run = (payload as { run?: { id?: unknown } } | null)?.run;
  return typeof run?.id === 'string' && Array.isArray((payload as { tags?: unknown }).tags);
}
