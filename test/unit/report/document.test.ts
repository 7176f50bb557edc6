import { expect } from 'chai';
import type { RunRecord } from '../../../src/core/types.js';
import { indexFor, MAX_REPORT_OUTPUT_CHARS, runToDocument } from '../../../src/report/document.js';
import { RUN_FIELD_TYPES } from '../../../src/report/template.js';

function run(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id: '01JDQ0000000000000000000AA',
    execution_id: '01JDQ0000000000000000000EX',
    job: 'backup',
    node: 'db1',
    host: '10.0.0.5',
    trigger: 'schedule',
    attempt: 2,
    scheduled_at: '2026-11-26T09:00:00.000Z',
    started_at: '2026-11-26T09:00:00.250Z',
    finished_at: '2026-11-26T09:00:01.750Z',
    duration_ms: 1500,
    status: 'failed',
    exit_code: 3,
    signal: null,
    stdout: 'out\n',
    stderr: 'err\n',
    output_truncated: false,
    error: null,
    ...overrides,
  };
}

describe('runToDocument', () => {
  it('maps every run field and the job facts into the report document', () => {
    const doc = runToDocument({ run: run(), tags: ['db', 'nightly'], description: 'nightly dump' });
    expect(doc).to.deep.include({
      '@timestamp': '2026-11-26T09:00:00.250Z',
      run_id: '01JDQ0000000000000000000AA',
      execution_id: '01JDQ0000000000000000000EX',
      job: 'backup',
      node: 'db1',
      host: '10.0.0.5',
      trigger: 'schedule',
      attempt: 2,
      status: 'failed',
      exit_code: 3,
      duration_ms: 1500,
      lateness_ms: 250,
      stdout: 'out\n',
      stderr: 'err\n',
      output_truncated: false,
      tags: ['db', 'nightly'],
      description: 'nightly dump',
    });
  });

  it("carries a manual run's parameters, requester and the later run facts", () => {
    const doc = runToDocument({
      run: run({
        trigger: 'manual',
        parameters: { TARGET: 'db2', COUNT: '5' },
        requestedBy: 'ci',
        parentRuns: ['01JDQ0000000000000000000P1'],
        scriptSha256: 'ab'.repeat(32),
        member: 'daemon-a',
      }),
      tags: [],
      description: null,
    });
    expect(doc).to.deep.include({
      parameters: { TARGET: 'db2', COUNT: '5' },
      requested_by: 'ci',
      parent_runs: ['01JDQ0000000000000000000P1'],
      script_sha256: 'ab'.repeat(32),
      member: 'daemon-a',
    });
    expect(runToDocument({ run: run(), tags: [], description: null })).to.deep.include({
      parameters: null,
      requested_by: null,
    });
  });

  it('ships a dependency run with its trigger and the parent run ids, stamped by its start', () => {
    const parents = ['01JDQ0000000000000000000P1', '01JDQ0000000000000000000P2'];
    const doc = runToDocument({
      run: run({ trigger: 'dependency', scheduled_at: null, parentRuns: parents }),
      tags: [],
      description: null,
    });
    expect(doc).to.deep.include({
      trigger: 'dependency',
      parent_runs: parents,
      '@timestamp': '2026-11-26T09:00:00.250Z',
    });
  });

  it('produces exactly the fields the index template maps', () => {
    const doc = runToDocument({ run: run(), tags: [], description: null });
    expect(Object.keys(doc).sort()).to.deep.equal(Object.keys(RUN_FIELD_TYPES).sort());
  });

  it('stamps a missed run that never started with its scheduled instant', () => {
    const doc = runToDocument({
      run: run({ status: 'missed', started_at: null, finished_at: null }),
      tags: [],
      description: null,
    });
    expect(doc['@timestamp']).to.equal('2026-11-26T09:00:00.000Z');
    expect(doc.lateness_ms).to.equal(null);
  });

  it('falls back to the finish time for a manual run without start or schedule', () => {
    const doc = runToDocument({
      run: run({ scheduled_at: null, started_at: null }),
      tags: [],
      description: null,
    });
    expect(doc['@timestamp']).to.equal('2026-11-26T09:00:01.750Z');
  });

  it('refuses a run without any usable time, naming the component', () => {
    const bad = run({ scheduled_at: null, started_at: 'garbage', finished_at: null });
    expect(() => runToDocument({ run: bad, tags: [], description: null })).to.throw(
      /^report: run .* no valid/,
    );
  });

  it('keeps the head and tail of oversized output and marks it truncated', () => {
    const stdout = 'H'.repeat(MAX_REPORT_OUTPUT_CHARS) + 'T'.repeat(MAX_REPORT_OUTPUT_CHARS);
    const doc = runToDocument({ run: run({ stdout }), tags: [], description: null });
    expect(doc.stdout.length).to.be.at.most(MAX_REPORT_OUTPUT_CHARS);
    expect(doc.stdout.startsWith('HHH')).to.equal(true);
    expect(doc.stdout.endsWith('TTT')).to.equal(true);
    expect(doc.stdout).to.contain('output elided');
    expect(doc.output_truncated).to.equal(true);
  });
});

describe('indexFor', () => {
  it('puts a run in the UTC month of its start', () => {
    expect(indexFor(run({ started_at: '2026-11-30T23:59:59.999Z' }))).to.equal('distcron-runs-2026.11');
    expect(indexFor(run({ started_at: '2026-12-01T00:00:00.000Z' }))).to.equal('distcron-runs-2026.12');
  });

  it('uses the scheduled month when the run never started', () => {
    expect(indexFor(run({ started_at: null, scheduled_at: '2027-01-15T10:00:00.000Z' }))).to.equal(
      'distcron-runs-2027.01',
    );
  });
});
