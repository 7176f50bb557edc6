import { expect } from 'chai';
import { isoUtc, type RunRecord } from '../../../src/core/types.js';
import type { AsyncStore } from '../../../src/store/async-store.js';
import { ClaimConflictError, type FireClaim, type OutboxEntry } from '../../../src/store/store.js';
import { fakeRun, REFERENCE_TIME } from '../../harness/runs.js';
import { describeStores, rejection } from './stores.js';

const AT = REFERENCE_TIME;

function claimFor(runs: { run: RunRecord; nodeKey: string }[], outbox: OutboxEntry[] = []): FireClaim {
  return { job: 'backup', scheduledAt: AT, advanceTo: AT, runs, outbox };
}

function runningOn(node: string, overrides: Partial<RunRecord> = {}): RunRecord {
  return fakeRun({ status: 'running', node, scheduled_at: isoUtc(AT), ...overrides });
}

describeStores('store: fire claims', (fx) => {
  let store: AsyncStore;

  beforeEach(async () => (store = await fx.open()));

  it('inserts the runs and advances the last scheduled instant when a fire is claimed', async () => {
    const a = runningOn('db1');
    const b = runningOn('db2', { execution_id: a.execution_id });
    const claim = claimFor([
      { run: a, nodeKey: 'db1' },
      { run: b, nodeKey: 'db2' },
    ]);
    expect(await store.claimFire(claim)).to.equal(true);
    expect(await store.getRun(a.id)).to.deep.equal(a);
    expect(await store.getRun(b.id)).to.deep.equal(b);
    expect((await store.getJobState('backup'))!.lastScheduledAt).to.equal(AT);
    expect(await store.countRunning('backup')).to.equal(2);
  });

  it('refuses a second claim of the same fire and writes nothing for it', async () => {
    expect(await store.claimFire(claimFor([{ run: runningOn('db1'), nodeKey: '*' }]))).to.equal(true);
    const again = runningOn('db2');
    const outbox = [{ sink: 'notify' as const, key: 'x', payload: {} }];
    expect(await store.claimFire(claimFor([{ run: again, nodeKey: '*' }], outbox))).to.equal(false);
    expect(await store.getRun(again.id)).to.equal(undefined);
    expect((await store.outboxBacklog()).notify).to.equal(0);
  });

  it('refuses a claimed fire after the store is closed and reopened', async () => {
    expect(await store.claimFire(claimFor([{ run: runningOn('db1'), nodeKey: 'db1' }]))).to.equal(true);
    await store.close();
    const reopened = await fx.open();
    expect(await reopened.claimFire(claimFor([{ run: runningOn('db1'), nodeKey: 'db1' }]))).to.equal(false);
    expect((await reopened.queryRuns({ limit: 10 })).runs).to.have.length(1);
  });

  it('is all-or-nothing: one taken key among several rolls back the whole claim', async () => {
    await store.claimFire(claimFor([{ run: runningOn('db2'), nodeKey: 'db2' }]));
    const later = AT + 60_000;
    const fresh = runningOn('db1');
    const taken = runningOn('db2');
    const claim = {
      ...claimFor(
        [
          { run: fresh, nodeKey: 'db1' },
          { run: taken, nodeKey: 'db2' },
        ],
        [{ sink: 'elasticsearch' as const, key: fresh.id, payload: {} }],
      ),
      advanceTo: later,
    };
    expect(await store.claimFire(claim)).to.equal(false);
    expect(await store.getRun(fresh.id)).to.equal(undefined);
    expect((await store.getJobState('backup'))!.lastScheduledAt).to.equal(AT);
    expect((await store.outboxBacklog()).elasticsearch).to.equal(0);
  });

  it('rolls back the claim keys when inserting a run fails', async () => {
    const existing = fakeRun();
    await store.insertRun(existing);
    const duplicateId = runningOn('db1', { id: existing.id });
    await rejection(store.claimFire(claimFor([{ run: duplicateId, nodeKey: 'db1' }])));
    expect(await store.claimFire(claimFor([{ run: runningOn('db1'), nodeKey: 'db1' }]))).to.equal(true);
  });

  describe('several claims in one transaction (a catch-up series)', () => {
    const at = (n: number) => AT + n * 60_000;
    const claimAt = (
      n: number,
      run: RunRecord = fakeRun({ status: 'running', scheduled_at: isoUtc(at(n)) }),
    ) => ({
      job: 'backup',
      scheduledAt: at(n),
      advanceTo: at(3),
      runs: [{ run, nodeKey: '*' }],
    });

    it('stores each and advances the job once', async () => {
      expect(await store.claimFires([claimAt(1), claimAt(2), claimAt(3)])).to.deep.equal([true, true, true]);
      expect(await store.countRunning('backup')).to.equal(3);
      expect((await store.getJobState('backup'))!.lastScheduledAt).to.equal(at(3));
    });

    it('reports a claim already taken as false and still stores the others', async () => {
      await store.claimFires([claimAt(2)]);
      expect(await store.claimFires([claimAt(1), claimAt(2), claimAt(3)])).to.deep.equal([true, false, true]);
      expect(await store.countRunning('backup')).to.equal(3);
    });

    it('stores none of them when a write fails part-way: no run left running that never starts', async () => {
      const existing = fakeRun();
      await store.insertRun(existing);
      const broken = fakeRun({ id: existing.id, status: 'running', scheduled_at: isoUtc(at(2)) });
      await rejection(store.claimFires([claimAt(1), claimAt(2, broken), claimAt(3)]));
      expect(await store.countRunning('backup')).to.equal(0);
      expect((await store.getJobState('backup'))?.lastScheduledAt ?? null).to.equal(null);
      expect(await store.claimFires([claimAt(1), claimAt(2), claimAt(3)])).to.deep.equal([true, true, true]);
    });
  });

  it('stores the claims of several jobs at one tick: each job advanced to its own instant, each job’s last outcome recorded', async () => {
    const final = (job: string, status: 'missed' | 'skipped') =>
      fakeRun({ job, status, started_at: null, duration_ms: null, exit_code: null });
    const missed = final('backup', 'missed');
    const skipped = final('backup', 'skipped');
    const report = runningOn('db1', { job: 'report' });
    const outbox = [{ sink: 'notify' as const, key: `run:${skipped.id}`, payload: {} }];
    const claims: FireClaim[] = [
      { job: 'backup', scheduledAt: AT - 60_000, advanceTo: AT, runs: [{ run: missed, nodeKey: '*' }] },
      { job: 'backup', scheduledAt: AT, advanceTo: AT, runs: [{ run: skipped, nodeKey: '*' }], outbox },
      {
        job: 'report',
        scheduledAt: AT + 1000,
        advanceTo: AT + 1000,
        runs: [{ run: report, nodeKey: 'db1' }],
      },
    ];
    expect(await store.claimFires(claims)).to.deep.equal([true, true, true]);
    expect(await store.getJobState('backup')).to.deep.include({ lastScheduledAt: AT, lastRunId: skipped.id });
    expect(await store.getJobState('report')).to.deep.include({
      lastScheduledAt: AT + 1000,
      lastStatus: null,
    });
    expect(await store.getRun(report.id)).to.deep.equal(report);
    expect((await store.outboxBacklog()).notify).to.equal(1);
  });

  it('treats other attempts, nodes and instants of the same job as distinct fires', async () => {
    const base = { run: runningOn('db1'), nodeKey: 'db1' };
    expect(await store.claimFire(claimFor([base]))).to.equal(true);
    expect(await store.claimFire(claimFor([{ run: runningOn('db2'), nodeKey: 'db2' }]))).to.equal(true);
    const nextMinute = { ...claimFor([{ run: runningOn('db1'), nodeKey: 'db1' }]), scheduledAt: AT + 60_000 };
    expect(await store.claimFire(nextMinute)).to.equal(true);
    const otherJob = { ...claimFor([{ run: runningOn('db1'), nodeKey: 'db1' }]), job: 'other' };
    expect(await store.claimFire(otherJob)).to.equal(true);
  });

  it('never moves the last scheduled instant backwards through a claim', async () => {
    await store.claimFire({
      ...claimFor([{ run: runningOn('db1'), nodeKey: 'db1' }]),
      advanceTo: AT + 120_000,
    });
    await store.claimFire({
      ...claimFor([{ run: runningOn('db2'), nodeKey: 'db2' }]),
      advanceTo: AT + 60_000,
    });
    expect((await store.getJobState('backup'))!.lastScheduledAt).to.equal(AT + 120_000);
  });

  it('records runs inserted already final as the job outcome and queues their outbox entries', async () => {
    const missed = fakeRun({ status: 'missed', started_at: null, duration_ms: null, exit_code: null });
    const outbox = [{ sink: 'notify' as const, key: `run:${missed.id}`, payload: { kind: 'run_finished' } }];
    expect(await store.claimFire(claimFor([{ run: missed, nodeKey: '*' }], outbox))).to.equal(true);
    expect(await store.getJobState('backup')).to.deep.include({ lastStatus: 'missed', lastRunId: missed.id });
    const queued = await store.takeOutbox('notify', 10, fx.clock.now());
    expect(queued.map((i) => i.key)).to.deep.equal([`run:${missed.id}`]);
  });

  it('insertRun with a node key claims the retry attempt, once', async () => {
    const retry = runningOn('db1', { trigger: 'retry', attempt: 2 });
    await store.insertRun(retry, 'db1');
    const duplicate = runningOn('db1', { trigger: 'retry', attempt: 2 });
    const err = await rejection(store.insertRun(duplicate, 'db1'));
    expect(err).to.be.instanceOf(ClaimConflictError);
    expect(err.message).to.match(/already claimed/);
    expect(await store.getRun(duplicate.id)).to.equal(undefined);
    const sameAttempt = claimFor([{ run: runningOn('db1', { attempt: 2 }), nodeKey: 'db1' }]);
    expect(await store.claimFire(sameAttempt)).to.equal(false);
  });

  it('insertRun of a run without a scheduled instant claims by its execution', async () => {
    const manual = fakeRun({ trigger: 'manual', scheduled_at: null, status: 'running', attempt: 2 });
    await store.insertRun(manual, '*');
    expect(await rejection(store.insertRun({ ...manual, id: 'another-id' }, '*'))).to.be.instanceOf(
      ClaimConflictError,
    );
    await store.insertRun({ ...manual, id: 'no-claim-wanted' });
    expect(await store.countRunning()).to.equal(2);
  });

  it('two stores on one database see each other’s writes and claims', async () => {
    const other = await fx.open();
    const run = fakeRun({ status: 'running' });
    const claim = { job: 'backup', scheduledAt: AT, advanceTo: AT };
    expect(await store.claimFire({ ...claim, runs: [{ run, nodeKey: '*' }] })).to.equal(true);
    expect(await other.getRun(run.id)).to.deep.equal(run);
    const again = { ...claim, runs: [{ run: fakeRun({ status: 'running' }), nodeKey: '*' }] };
    expect(await other.claimFire(again)).to.equal(false);
    await other.enqueueOutbox([{ sink: 'webhook', key: 'k', payload: 1 }]);
    expect((await store.outboxBacklog()).webhook).to.equal(1);
    await other.setEnabledOverride('backup', false);
    expect((await store.getJobState('backup'))!.enabledOverride).to.equal(false);
  });
});
