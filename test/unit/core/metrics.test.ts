import { expect } from 'chai';
import { Metrics } from '../../../src/core/metrics.js';
import { parseExposition } from '../api/prometheus.js';

const JOBS = 10_000;
const STATUSES = ['succeeded', 'failed', 'timed_out', 'cancelled'];

async function seriesAfterRunsOfEveryJob(metrics: Metrics, jobs = JOBS): Promise<number> {
  for (let j = 0; j < jobs; j++)
    metrics.observeRun({ job: `job-${j}`, status: STATUSES[j % STATUSES.length]!, duration_ms: j });
  return parseExposition(await metrics.registry.metrics()).samples.length;
}

describe('metrics: bounded cardinality', () => {
  it('stays under 200 series with runs of 10,000 jobs (no job label by default)', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    expect(await seriesAfterRunsOfEveryJob(metrics)).to.be.lessThan(200);
    const { samples } = parseExposition(await metrics.registry.metrics());
    const total = samples.filter((s) => s.name === 'distcron_runs_total');
    expect(total.map((s) => s.labels)).to.deep.include({ status: 'failed' });
    expect(total.reduce((n, s) => n + s.value, 0)).to.equal(JOBS);
  });

  it('labels runs by job only when asked (--metrics-job-labels)', async () => {
    const metrics = new Metrics({ defaultMetrics: false, jobLabels: true });
    expect(await seriesAfterRunsOfEveryJob(metrics, 100)).to.be.greaterThan(100);
    const { samples } = parseExposition(await metrics.registry.metrics());
    expect(samples.find((s) => s.name === 'distcron_runs_total' && s.labels.job === 'job-7')?.value).to.equal(
      1,
    );
  });
});
