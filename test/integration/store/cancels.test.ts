/**
 * Cancel requests of runs executing on another member (SPEC §15), on both stores: stored only
 * for running runs, read by the member executing them (or taking them from the queue), and
 * forgotten once the run is final.
 */
import { expect } from 'chai';
import { isoUtc, type RunRecord } from '../../../src/core/types.js';
import type { AsyncStore, CancelRequest } from '../../../src/store/async-store.js';
import { fakeRun, REFERENCE_TIME } from '../../harness/runs.js';
import { describeStores } from './stores.js';

const AT = REFERENCE_TIME;

function queuedRun(overrides: Partial<RunRecord> = {}): RunRecord {
  return fakeRun({ status: 'running', started_at: null, host: null, node: null, job: 'tick', ...overrides });
}

function cancelOf(run: RunRecord, reason = 'cancelled through the API of member a'): CancelRequest {
  return { runId: run.id, reason, requestedAt: isoUtc(AT), requestedBy: 'ops' };
}

describeStores('store: cancel requests', (fx) => {
  let store: AsyncStore;

  beforeEach(async () => {
    store = await fx.open();
  });

  /** Inserts the run and queues its execution; `member` takes it. */
  async function queued(member?: string): Promise<RunRecord> {
    const run = queuedRun();
    await store.transaction(async (tx) => {
      await tx.insertRun(run);
      await tx.enqueueExecutions([
        { executionId: run.execution_id, job: run.job, afterPrevious: false, jobDef: null },
      ]);
    });
    if (member) await store.takeExecutions(member, 1);
    return run;
  }

  const requestCount = async () => Number((await fx.sql('SELECT count(*) AS n FROM run_cancels'))[0]!.n);

  it('stores a request of a running run, keeping the first of two', async () => {
    const run = await queued('b');
    expect(await store.requestCancel(cancelOf(run))).to.equal(true);
    expect(await store.requestCancel(cancelOf(run, 'a second reason'))).to.equal(true);
    expect(await store.pendingCancels('b')).to.deep.equal([cancelOf(run)]);
  });

  it('refuses, storing nothing, a request of a final or unknown run', async () => {
    const done = fakeRun({ status: 'succeeded' });
    await store.insertRun(done);
    expect(await store.requestCancel(cancelOf(done))).to.equal(false);
    expect(await store.requestCancel(cancelOf(fakeRun()))).to.equal(false);
    expect(await requestCount()).to.equal(0);
  });

  it("gives a member the requests of its own running runs, not another member's", async () => {
    const onA = await queued('a');
    const onB = await queued('b');
    await store.requestCancel(cancelOf(onA));
    await store.requestCancel(cancelOf(onB));
    expect((await store.pendingCancels('a')).map((c) => c.runId)).to.deep.equal([onA.id]);
    expect((await store.pendingCancels('b')).map((c) => c.runId)).to.deep.equal([onB.id]);
    expect(await store.pendingCancels('c')).to.deep.equal([]);
  });

  it('hands the member taking an execution the requests made while it was queued', async () => {
    const asked = await queued();
    const untouched = await queued();
    await store.requestCancel(cancelOf(asked));
    const taken = await store.takeExecutions('b', 10);
    const cancelsOf = (run: RunRecord) => taken.find((t) => t.executionId === run.execution_id)!.cancels;
    expect(cancelsOf(asked)).to.deep.equal([cancelOf(asked)]);
    expect(cancelsOf(untouched)).to.deep.equal([]);
  });

  it('forgets a request once its run is final', async () => {
    const run = await queued('b');
    await store.requestCancel(cancelOf(run));
    const final: RunRecord = {
      ...run,
      member: 'b',
      status: 'cancelled',
      finished_at: isoUtc(AT),
      duration_ms: 0,
    };
    await store.finishRun(final, []);
    expect(await store.pendingCancels('b')).to.deep.equal([]);
    expect(await requestCount()).to.equal(0);
  });

  it('prunes a request left by a run recorded lost together with that run', async () => {
    const run = await queued('b');
    await store.requestCancel(cancelOf(run));
    await store.markRunningAsLost(AT, () => [], 'b');
    expect(await store.pendingCancels('b')).to.deep.equal([]);
    expect(await store.pruneRuns(AT + 1000, 10)).to.equal(1);
    expect(await requestCount()).to.equal(0);
  });
});

describeStores(
  'store: cancel requests wake the listening members',
  (fx) => {
    it('calls the cancel listener of every member when a cancel is requested', async () => {
      const store = await fx.open();
      const other = await fx.open();
      let heard = 0;
      const stop = await other.cluster!.watchQueue(
        () => undefined,
        () => heard++,
      );
      try {
        const before = heard;
        const run = queuedRun();
        await store.insertRun(run);
        await store.requestCancel(cancelOf(run));
        const deadline = Date.now() + 5000;
        while (heard === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(heard).to.be.greaterThan(before);
      } finally {
        await stop();
      }
    });
  },
  ['postgres'],
);
