import { expect } from 'chai';
import { isoUtc } from '../../../src/core/types.js';
import type { AsyncStore } from '../../../src/store/async-store.js';
import type { ResourceHoldingRow } from '../../../src/store/resource-rows.js';
import { fakeRun, finishedRun, REFERENCE_TIME } from '../../harness/runs.js';
import { describeStores } from './stores.js';

const AT = REFERENCE_TIME;

function holding(runId: string, pool: string, at = AT, amount = 1): ResourceHoldingRow {
  return { run_id: runId, pool, amount, acquired_at: isoUtc(at), job: 'backup', node: 'db1' };
}

describeStores('store: resource pools', (fx) => {
  let store: AsyncStore;

  beforeEach(async () => (store = await fx.open()));

  async function runningRun(): Promise<string> {
    const run = fakeRun({ status: 'running', scheduled_at: isoUtc(AT) });
    await store.insertRun(run);
    return run.id;
  }

  it('a grant turns a waiter into holdings and acquisitions, in one transaction', async () => {
    const id = await runningRun();
    const wants = [
      { pool: 'db-conn', amount: 2 },
      { pool: 'io@db1', amount: 1 },
    ];
    await store.transaction(async (tx) => {
      await tx.lockResourcePools(['io@db1', 'db-conn']);
      await tx.putResourceWaiter({ run_id: id, job: 'backup', node: 'db1', since: isoUtc(AT), wants });
    });
    expect((await store.readResources(AT - 60_000)).waiters).to.deep.equal([
      { run_id: id, job: 'backup', node: 'db1', since: isoUtc(AT), wants },
    ]);

    await store.transaction(async (tx) => {
      await tx.lockResourcePools(['db-conn', 'io@db1']);
      await tx.grantResources(id, [holding(id, 'db-conn', AT, 2), holding(id, 'io@db1')], AT - 60_000);
    });
    const rows = await store.readResources(AT - 60_000);
    expect(rows.waiters).to.deep.equal([]);
    expect(rows.holdings.map((h) => [h.pool, h.amount, h.acquired_at])).to.have.deep.members([
      ['db-conn', 2, isoUtc(AT)],
      ['io@db1', 1, isoUtc(AT)],
    ]);
    expect(rows.acquisitions.map((a) => [a.pool, a.amount, a.run_id])).to.have.deep.members([
      ['db-conn', 2, id],
      ['io@db1', 1, id],
    ]);
  });

  it('waiters are listed first come, first served', async () => {
    const ids = [await runningRun(), await runningRun(), await runningRun()];
    const since = [AT + 20, AT, AT + 10];
    for (const [i, id] of ids.entries())
      await store.putResourceWaiter({
        ...{ run_id: id, job: 'j', node: null, since: isoUtc(since[i]!) },
        wants: [{ pool: 'p', amount: 1 }],
      });
    const order = (await store.readResources(AT)).waiters.map((w) => w.run_id);
    expect(order).to.deep.equal([ids[1], ids[2], ids[0]]);
  });

  it('acquisitions older than the window are not read, and are pruned by the next grant', async () => {
    const [old, recent, next] = [await runningRun(), await runningRun(), await runningRun()];
    await store.grantResources(old, [holding(old, 'api', AT - 90_000)], AT - 150_000);
    await store.grantResources(recent, [holding(recent, 'api', AT - 30_000)], AT - 90_000);
    expect((await store.readResources(AT - 60_000)).acquisitions.map((a) => a.run_id)).to.deep.equal([
      recent,
    ]);
    await store.grantResources(next, [holding(next, 'api', AT)], AT - 60_000);
    const all = await fx.sql('SELECT run_id FROM resource_acquisitions ORDER BY at');
    expect(all.map((r) => r.run_id)).to.deep.equal([recent, next]);
  });

  it('release gives back what a run holds and drops its place in the queue', async () => {
    const [a, b] = [await runningRun(), await runningRun()];
    await store.grantResources(a, [holding(a, 'p')], AT - 60_000);
    await store.putResourceWaiter({ run_id: b, job: 'j', node: null, since: isoUtc(AT), wants: [] });
    await store.releaseResources(a);
    await store.releaseResources(b);
    const rows = await store.readResources(AT - 60_000);
    expect(rows.holdings).to.deep.equal([]);
    expect(rows.waiters).to.deep.equal([]);
    expect(rows.acquisitions, 'acquisitions still count in the window').to.have.length(1);
  });

  it('the stale sweep frees holdings and waiters of runs no longer running, and only those', async () => {
    const live = await runningRun();
    const lost = fakeRun({ status: 'running', scheduled_at: isoUtc(AT) });
    await store.insertRun(lost);
    await store.grantResources(live, [holding(live, 'p')], AT - 60_000);
    await store.grantResources(lost.id, [holding(lost.id, 'p')], AT - 60_000);
    await store.grantResources('never-stored', [holding('never-stored', 'p')], AT - 60_000);
    await store.finishRun(finishedRun(lost, { status: 'lost' }), []);

    expect(await store.releaseStaleResources()).to.equal(2);
    expect((await store.readResources(AT)).holdings.map((h) => h.run_id)).to.deep.equal([live]);
  });

  it('a transaction that fails after locking and granting stores nothing of the grant', async () => {
    const id = await runningRun();
    const failed = store.transaction(async (tx) => {
      await tx.lockResourcePools(['p']);
      await tx.grantResources(id, [holding(id, 'p')], AT - 60_000);
      throw new Error('boom');
    });
    await failed.catch(() => undefined);
    expect((await store.readResources(AT - 60_000)).holdings).to.deep.equal([]);
  });
});
