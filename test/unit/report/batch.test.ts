import { expect } from 'chai';
import type { RunRecord } from '../../../src/core/types.js';
import { buildBulkBatch } from '../../../src/report/batch.js';
import { esOutboxEntry } from '../../../src/report/outbox.js';
import type { OutboxItem } from '../../../src/store/store.js';

const T0 = Date.parse('2026-11-26T09:00:00.000Z');

function item(n: number, stdout = 'ok'): OutboxItem {
  const run: RunRecord = {
    id: `run-${n}`,
    execution_id: `run-${n}`,
    job: 'j',
    node: 'n',
    host: 'h',
    trigger: 'manual',
    attempt: 1,
    scheduled_at: null,
    started_at: '2026-11-26T09:00:00.000Z',
    finished_at: '2026-11-26T09:00:01.000Z',
    duration_ms: 1000,
    status: 'succeeded',
    exit_code: 0,
    signal: null,
    stdout,
    stderr: '',
    output_truncated: false,
    error: null,
  };
  const entry = esOutboxEntry(run, undefined);
  return {
    id: n,
    sink: 'elasticsearch',
    key: entry.key,
    payload: entry.payload,
    attempts: 0,
    nextAttemptAt: T0,
    lastError: null,
    createdAt: T0,
  };
}

describe('buildBulkBatch', () => {
  it('writes an index action with the run id as _id and the monthly index, then the document', () => {
    const batch = buildBulkBatch([item(1)], 1024 * 1024);
    expect(JSON.parse(batch.lines[0]!)).to.deep.equal({
      index: { _index: 'distcron-runs-2026.11', _id: 'run-1' },
    });
    expect(JSON.parse(batch.lines[1]!)).to.include({ run_id: 'run-1', job: 'j' });
  });

  it('stops before the byte cap and leaves the rest for the next batch', () => {
    const items = [1, 2, 3, 4].map((n) => item(n, 'x'.repeat(1000)));
    const batch = buildBulkBatch(items, 3500);
    expect(batch.items.map((i) => i.id)).to.deep.equal([1, 2]);
    expect(batch.lines).to.have.length(4);
  });

  it('sends a single document larger than the cap alone rather than stalling', () => {
    const batch = buildBulkBatch([item(1, 'x'.repeat(5000)), item(2)], 1000);
    expect(batch.items.map((i) => i.id)).to.deep.equal([1]);
  });

  it('sets aside a payload that is not a run report as invalid', () => {
    const corrupt: OutboxItem = { ...item(9), payload: { hello: 'world' } };
    const batch = buildBulkBatch([corrupt, item(1)], 1024 * 1024);
    expect(batch.invalid.map((b) => b.item.id)).to.deep.equal([9]);
    expect(batch.invalid[0]!.reason).to.match(/^report: /);
    expect(batch.items.map((i) => i.id)).to.deep.equal([1]);
  });
});
