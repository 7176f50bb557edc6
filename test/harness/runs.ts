/** Builders of valid RunRecords for tests; every field can be overridden. */
import { newId } from '../../src/core/ids.js';
import { isoUtc, type Millis, type RunRecord } from '../../src/core/types.js';

/** A fixed reference time, so tests never depend on the wall clock. */
export const REFERENCE_TIME: Millis = Date.parse('2026-11-26T09:00:00.000Z');

/**
 * A finished, succeeded scheduled run of job "backup" on node "db1", scheduled at REFERENCE_TIME
 * and lasting 1.5 s. With `status: 'running'` the finish fields default to null instead.
 * The id is a fresh monotonic ULID (later calls sort after earlier ones).
 */
export function fakeRun(overrides: Partial<RunRecord> = {}): RunRecord {
  const scheduled = overrides.scheduled_at ?? isoUtc(REFERENCE_TIME);
  const startedMs = Date.parse(overrides.started_at ?? scheduled) + (overrides.started_at ? 0 : 20);
  const running = overrides.status === 'running';
  const id = overrides.id ?? newId();
  return {
    id,
    execution_id: id,
    job: 'backup',
    node: 'db1',
    host: '10.0.0.5',
    trigger: 'schedule',
    attempt: 1,
    scheduled_at: scheduled,
    started_at: isoUtc(startedMs),
    finished_at: running ? null : isoUtc(startedMs + 1500),
    duration_ms: running ? null : 1500,
    status: 'succeeded',
    exit_code: running ? null : 0,
    signal: null,
    stdout: 'done\n',
    stderr: '',
    output_truncated: false,
    error: null,
    parameters: null,
    requestedBy: null,
    parentRuns: null,
    scriptSha256: null,
    member: null,
    ...overrides,
  };
}

/** The same run, finished with the given outcome `durationMs` after it started. */
export function finishedRun(run: RunRecord, outcome: Partial<RunRecord> = {}, durationMs = 1500): RunRecord {
  const started = Date.parse(run.started_at ?? run.scheduled_at ?? isoUtc(REFERENCE_TIME));
  return {
    ...run,
    status: 'succeeded',
    exit_code: 0,
    finished_at: isoUtc(started + durationMs),
    duration_ms: durationMs,
    ...outcome,
  };
}
