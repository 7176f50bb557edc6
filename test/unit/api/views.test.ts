import { expect } from 'chai';
import { jobSummaryJson, jobSummaryText } from '../../../src/api/views.js';
import type { JobView } from '../../../src/daemon/control.js';
import { jobDef } from '../../harness/defs.js';
import { fakeRun } from '../../harness/runs.js';

function view(overrides: Partial<JobView> = {}): JobView {
  const definition = jobDef('nightly', { description: 'Dump "all" \\ databases\n✓', tags: ['db', 'backup'] });
  return {
    name: definition.name,
    file: definition.file,
    definition,
    enabled: true,
    enabledOverride: null,
    schedule: 'cron 30 2 * * * (Europe/Berlin)',
    nextFireTimes: ['2026-11-27T01:30:00.000Z'],
    lastRun: null,
    running: 0,
    ...overrides,
  };
}

describe('api: job summary text', () => {
  it('is exactly the JSON text of the job summary, whatever the state of the job', () => {
    const base = view();
    const states: Partial<JobView>[] = [
      {},
      { enabled: false, enabledOverride: false, running: 2 },
      { lastRun: fakeRun({ job: 'nightly', status: 'failed', error: 'exit "1"' }), nextFireTimes: [] },
      { enabledOverride: true, schedule: 'every "day" \\ at 02:00 ✓\n', nextFireTimes: ['a', 'b"', 'c\\'] },
      { schedule: '', nextFireTimes: ['2026-11-27T01:30:00.000Z', '2026-11-28T01:30:00.000Z'], running: 1 },
    ];
    for (const state of states) {
      const v = { ...base, ...state };
      expect(jobSummaryText(v)).to.equal(JSON.stringify(jobSummaryJson(v)));
    }
  });

  it('reflects a later change of state of the same definition (only the definition part is cached)', () => {
    const v = view();
    jobSummaryText(v);
    const later = JSON.parse(jobSummaryText({ ...v, enabled: false, running: 3 })) as { enabled: boolean };
    expect(later).to.include({ name: 'nightly', enabled: false, running: 3 });
  });

  it("shows the job's new last run once it has another one", () => {
    const first = view({ lastRun: fakeRun({ job: 'nightly', status: 'failed' }) });
    jobSummaryText(first);
    const second = { ...first, lastRun: fakeRun({ job: 'nightly', status: 'succeeded' }) };
    expect(jobSummaryText(second)).to.equal(JSON.stringify(jobSummaryJson(second)));
  });
});
