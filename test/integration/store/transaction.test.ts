import { expect } from 'chai';
import type { AsyncStore, StoreTx } from '../../../src/store/async-store.js';
import type { OutboxEntry } from '../../../src/store/store.js';
import { fakeRun, finishedRun, REFERENCE_TIME } from '../../harness/runs.js';
import { describeStores, rejection } from './stores.js';

const unserializable = { sink: 'notify', key: 'bad', payload: { n: 1n } } as OutboxEntry;

describeStores('store: transaction (several operations, one commit)', (fx) => {
  let store: AsyncStore;

  beforeEach(async () => (store = await fx.open()));

  it('stores every write of the transaction and resolves what the body resolves', async () => {
    const a = fakeRun({ status: 'running' });
    const b = fakeRun({ status: 'running', node: 'db2' });
    const result = await store.transaction(async (tx) => {
      await tx.insertRun(a);
      await tx.insertRun(b);
      await tx.finishRun(finishedRun(a), [{ sink: 'notify', key: `run:${a.id}`, payload: {} }]);
      return 'done';
    });
    expect(result).to.equal('done');
    expect((await store.getRun(a.id))!.status).to.equal('succeeded');
    expect((await store.getRun(b.id))!.status).to.equal('running');
    expect((await store.outboxBacklog()).notify).to.equal(1);
  });

  it('reads its own writes inside; other connections see them only after the commit', async () => {
    const other = await fx.open();
    const run = fakeRun({ status: 'running' });
    await store.transaction(async (tx) => {
      await tx.insertRun(run);
      expect(await tx.getRun(run.id)).to.deep.equal(run);
      expect(await tx.countRunning('backup')).to.equal(1);
      expect(await other.getRun(run.id)).to.equal(undefined);
    });
    expect(await other.getRun(run.id)).to.deep.equal(run);
  });

  it('stores none of the writes when the body rejects', async () => {
    const a = fakeRun({ status: 'running' });
    const err = await rejection(
      store.transaction(async (tx) => {
        await tx.insertRun(a);
        await tx.enqueueOutbox([{ sink: 'notify', key: 'k', payload: {} }]);
        throw new Error('boom');
      }),
    );
    expect(err.message).to.equal('boom');
    expect(await store.getRun(a.id)).to.equal(undefined);
    expect((await store.outboxBacklog()).notify).to.equal(0);
  });

  it('undoes the whole transaction when an operation inside fails, even if the body catches the error', async () => {
    const good = fakeRun({ status: 'running' });
    const bad = fakeRun({ status: 'running', node: 'db2' });
    await store.insertRun(good);
    await store.insertRun(bad);
    const err = await rejection(
      store.transaction(async (tx) => {
        await tx.finishRun(finishedRun(good), [{ sink: 'elasticsearch', key: good.id, payload: {} }]);
        await rejection(tx.finishRun(finishedRun(bad, { status: 'failed' }), [unserializable]));
      }),
    );
    expect(err.message).to.match(/store: an operation inside transaction\(\) failed/);
    expect((await store.getRun(bad.id))!.status).to.equal('running');
    expect((await store.getRun(good.id))!.status).to.equal('running');
    expect(await store.getJobState('backup')).to.equal(undefined);
    expect(await store.outboxBacklog()).to.deep.equal({ elasticsearch: 0, notify: 0, email: 0, webhook: 0 });
  });

  it('undoes it too when a failed statement was caught (a duplicate run id)', async () => {
    const existing = fakeRun();
    await store.insertRun(existing);
    const fresh = fakeRun({ status: 'running' });
    await rejection(
      store.transaction(async (tx) => {
        await tx.insertRun(fresh);
        await rejection(tx.insertRun({ ...fresh, id: existing.id }));
      }),
    );
    expect(await store.getRun(fresh.id)).to.equal(undefined);
  });

  it('undoes it too when an operation refused its input before writing (a caught error)', async () => {
    const run = fakeRun({ status: 'running' });
    const err = await rejection(
      store.transaction(async (tx) => {
        await tx.insertRun(run);
        await rejection(tx.finishRun(run, []));
        await rejection(tx.queryRuns({ limit: 1, cursor: 'nope' }));
      }),
    );
    expect(err.message).to.match(/store: an operation inside transaction\(\) failed/);
    expect(await store.getRun(run.id)).to.equal(undefined);
  });

  it('commits a later transaction normally after a spoiled one', async () => {
    const run = fakeRun({ status: 'running' });
    await store.insertRun(run);
    await rejection(store.transaction((tx) => tx.finishRun(fakeRun({ status: 'failed' }), [])));
    await store.transaction((tx) => tx.finishRun(finishedRun(run), []));
    expect((await store.getRun(run.id))!.status).to.equal('succeeded');
  });

  it("records each job's last outcome of the transaction in the job state", async () => {
    const [a, b, c] = [
      fakeRun({ status: 'running' }),
      fakeRun({ status: 'running' }),
      fakeRun({ status: 'running', job: 'rotate' }),
    ];
    for (const run of [a!, b!, c!]) await store.insertRun(run);
    await store.transaction(async (tx) => {
      await tx.finishRun(finishedRun(a!, { status: 'failed' }), []);
      await tx.finishRun(finishedRun(c!), []);
      await tx.finishRun(finishedRun(b!), []);
    });
    expect(await store.getJobState('backup')).to.deep.include({ lastRunId: b!.id, lastStatus: 'succeeded' });
    expect(await store.getJobState('rotate')).to.deep.include({ lastRunId: c!.id, lastStatus: 'succeeded' });
  });

  it('forgets the outcomes of an undone transaction', async () => {
    const run = fakeRun({ status: 'running' });
    await store.insertRun(run);
    await rejection(
      store.transaction(async (tx) => {
        await tx.finishRun(finishedRun(run), []);
        throw new Error('boom');
      }),
    );
    await store.transaction((tx) => tx.enqueueOutbox([{ sink: 'notify', key: 'k', payload: {} }]));
    expect(await store.getJobState('backup')).to.equal(undefined);
  });

  it('a claim found taken inside writes nothing of itself and keeps the rest', async () => {
    const claim = (run = fakeRun({ status: 'running' })) => ({
      job: 'backup',
      scheduledAt: REFERENCE_TIME,
      advanceTo: REFERENCE_TIME,
      runs: [{ run, nodeKey: '*' }],
    });
    await store.claimFire(claim());
    const loser = fakeRun({ status: 'running' });
    const other = fakeRun({ status: 'running', job: 'rotate' });
    const taken = await store.transaction(async (tx) => {
      await tx.insertRun(other);
      return tx.claimFire(claim(loser));
    });
    expect(taken).to.equal(false);
    expect(await store.getRun(loser.id)).to.equal(undefined);
    expect(await store.getRun(other.id)).to.deep.equal(other);
  });

  it('runs concurrent transactions of one store one after the other, each whole', async () => {
    const runs = Array.from({ length: 6 }, () => fakeRun({ status: 'running' }));
    const insertPair = (tx: StoreTx, i: number) =>
      tx.insertRun(runs[i]!).then(() => tx.insertRun(runs[i + 1]!));
    await Promise.all([0, 2, 4].map((i) => store.transaction((tx) => insertPair(tx, i))));
    expect(await store.countRunning()).to.equal(6);
  });

  it('keeps operations called around a transaction out of it', async () => {
    const before = fakeRun({ status: 'running' });
    const inside = fakeRun({ status: 'running' });
    const after = fakeRun({ status: 'running' });
    const outside = store.insertRun(before);
    const undone = rejection(
      store.transaction(async (tx) => {
        await tx.insertRun(inside);
        throw new Error('boom');
      }),
    );
    await Promise.all([outside, undone, store.insertRun(after)]);
    expect(await store.getRun(before.id)).to.deep.equal(before);
    expect(await store.getRun(inside.id)).to.equal(undefined);
    expect(await store.getRun(after.id)).to.deep.equal(after);
  });

  it('refuses a tx used after its transaction settled', async () => {
    let leaked: StoreTx | undefined;
    await store.transaction(async (tx) => {
      leaked = tx;
    });
    expect((await rejection(leaked!.getRun('x'))).message).to.match(/after its transaction/);
  });

  it('close is idempotent', async () => {
    await store.close();
    await store.close();
  });
});
