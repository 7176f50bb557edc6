import type { RunRecord, RunStatus } from '../../../src/core/types.js';
import type { JobSnapshot } from '../../../src/notify/outbox.js';

export const T0 = Date.parse('2026-11-26T09:00:00.000Z');

let seq = 0;

export function run(status: RunStatus, fields: Partial<RunRecord> = {}): RunRecord {
  seq += 1;
  const finished = fields.finished_at ?? new Date(T0 + seq * 1000).toISOString();
  return {
    id: `01RUN${String(seq).padStart(6, '0')}`,
    execution_id: `01EXE${String(seq).padStart(6, '0')}`,
    job: 'backup',
    node: 'db1',
    host: 'db1.example.com',
    trigger: 'schedule',
    attempt: 1,
    scheduled_at: '2026-11-26T08:59:59.000Z',
    started_at: '2026-11-26T09:00:00.250Z',
    finished_at: finished,
    duration_ms: 1234,
    status,
    exit_code: status === 'failed' ? 2 : status === 'succeeded' ? 0 : null,
    signal: null,
    stdout: 'out line\n',
    stderr: 'err line\n',
    output_truncated: false,
    error: null,
    ...fields,
  };
}

export function job(notify: Partial<JobSnapshot['notify']> = {}): JobSnapshot {
  return {
    name: 'backup',
    description: 'Nightly database dump',
    owners: [{ name: 'Ops', email: 'ops@example.com' }],
    notify: { on: ['failure', 'recovery'], email: [], webhooks: [], ...notify },
    command: { kind: 'argv', argv: ['/usr/local/bin/dump', '--all'] },
    tags: ['backup'],
  };
}
