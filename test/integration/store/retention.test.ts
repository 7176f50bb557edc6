import { expect } from 'chai';
import { isoUtc } from '../../../src/core/types.js';
import type { AsyncStore } from '../../../src/store/async-store.js';
import { fakeRun, REFERENCE_TIME } from '../../harness/runs.js';
import { describeStores } from './stores.js';

describeStores('store: retention', (fx) => {
  let store: AsyncStore;

  beforeEach(async () => (store = await fx.open()));

  it('prunes final runs finished before the cutoff in batches, oldest first, with their fire claims', async () => {
    const old = Array.from({ length: 5 }, (_, i) => {
      const at = isoUtc(REFERENCE_TIME + i * 1000);
      return fakeRun({ scheduled_at: at, started_at: at });
    });
    for (const run of old) {
      const at = Date.parse(run.scheduled_at!);
      await store.claimFire({ job: run.job, scheduledAt: at, advanceTo: at, runs: [{ run, nodeKey: '*' }] });
    }
    const runningOld = fakeRun({ status: 'running' });
    const recent = fakeRun({ scheduled_at: isoUtc(REFERENCE_TIME + 86_400_000) });
    await store.insertRun(runningOld);
    await store.insertRun(recent);
    const cutoff = REFERENCE_TIME + 3_600_000;

    expect(await store.pruneRuns(cutoff, 2)).to.equal(2);
    const kept = await Promise.all(old.map(async (r) => (await store.getRun(r.id)) !== undefined));
    expect(kept).to.deep.equal([false, false, true, true, true]);
    expect(await store.pruneRuns(cutoff, 2)).to.equal(2);
    expect(await store.pruneRuns(cutoff, 2)).to.equal(1);
    expect(await store.pruneRuns(cutoff, 2)).to.equal(0);
    expect(await store.getRun(runningOld.id)).to.not.equal(undefined);
    expect(await store.getRun(recent.id)).to.not.equal(undefined);
    expect(await fx.sql('SELECT count(*) AS n FROM fire_claims')).to.deep.equal([{ n: 0 }]);
  });

  it('keeps the fire claims of pruned runs whose instant is after the cutoff', async () => {
    const future = isoUtc(REFERENCE_TIME + 7_200_000);
    const run = fakeRun({ status: 'missed', scheduled_at: future, finished_at: isoUtc(REFERENCE_TIME) });
    const claim = { job: run.job, scheduledAt: Date.parse(future), advanceTo: Date.parse(future) };
    await store.claimFire({ ...claim, runs: [{ run, nodeKey: '*' }] });
    expect(await store.pruneRuns(REFERENCE_TIME + 3_600_000, 10)).to.equal(1);
    expect(await store.claimFire({ ...claim, runs: [{ run: fakeRun(), nodeKey: '*' }] })).to.equal(false);
  });

  it('prunes the claims of manual executions with their runs', async () => {
    const manual = fakeRun({ trigger: 'manual', scheduled_at: null, finished_at: isoUtc(REFERENCE_TIME) });
    await store.insertRun(manual, '*');
    expect(await store.pruneRuns(REFERENCE_TIME + 1, 10)).to.equal(1);
    expect(await fx.sql('SELECT count(*) AS n FROM fire_claims')).to.deep.equal([{ n: 0 }]);
  });
});
