/**
 * The shared run queue and the cluster-wide node slots (SPEC §15), on both stores: what a claim
 * queues, who takes it, in which order, and how a node's slots are counted across connections.
 */
import { expect } from 'chai';
import { isoUtc, type RunRecord } from '../../../src/core/types.js';
import type { AsyncStore, QueueEntry } from '../../../src/store/async-store.js';
import type { FireClaim } from '../../../src/store/store.js';
import { fakeRun, REFERENCE_TIME } from '../../harness/runs.js';
import { describeStores } from './stores.js';

const AT = REFERENCE_TIME;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A run waiting in the queue: running, not started, no member yet. */
function queuedRun(overrides: Partial<RunRecord> = {}): RunRecord {
  return fakeRun({ status: 'running', started_at: null, host: null, node: null, job: 'tick', ...overrides });
}

function entryOf(run: RunRecord, afterPrevious = false): QueueEntry {
  return { executionId: run.execution_id, job: run.job, afterPrevious, jobDef: null };
}

function claimOf(run: RunRecord, at: number, afterPrevious = false): FireClaim {
  return {
    job: run.job,
    scheduledAt: at,
    advanceTo: at,
    runs: [{ run, nodeKey: '*' }],
    queue: entryOf(run, afterPrevious),
  };
}

describeStores('store: run queue and node slots', (fx) => {
  let store: AsyncStore;

  beforeEach(async () => {
    store = await fx.open();
  });

  const activityOf = async (job: string) => (await store.queueActivity([job])).get(job);

  it('queues a claimed execution with its claim; a claim found taken queues nothing', async () => {
    const run = queuedRun({ scheduled_at: isoUtc(AT) });
    const again = queuedRun({ scheduled_at: isoUtc(AT) });
    expect(await store.claimFires([claimOf(run, AT), claimOf(again, AT)])).to.deep.equal([true, false]);
    expect(await activityOf('tick')).to.deep.equal({ executions: 1, waiting: 0 });
    const taken = await store.takeExecutions('m1', 10);
    expect(taken.map((t) => t.executionId)).to.deep.equal([run.execution_id]);
    expect(taken[0]!.runs.map((r) => [r.id, r.member])).to.deep.equal([[run.id, 'm1']]);
    expect((await store.getRun(run.id))!.member).to.equal('m1');
    expect(await store.takeExecutions('m2', 10)).to.deep.equal([]);
    await store.endExecution(run.execution_id);
    expect(await activityOf('tick')).to.deep.equal({ executions: 0, waiting: 0 });
  });

  it('gives an execution that waits for its predecessors only once every earlier one of its job left', async () => {
    const first = queuedRun({ scheduled_at: isoUtc(AT) });
    const second = queuedRun({ scheduled_at: isoUtc(AT + 1000) });
    const other = queuedRun({ job: 'other', scheduled_at: isoUtc(AT + 1000) });
    await store.claimFires([claimOf(first, AT), claimOf(second, AT + 1000, true), claimOf(other, AT + 1000)]);
    expect(await activityOf('tick')).to.deep.equal({ executions: 2, waiting: 1 });
    expect([...(await store.queueActivity(['tick', 'other', 'idle']))]).to.deep.equal([
      ['tick', { executions: 2, waiting: 1 }],
      ['other', { executions: 1, waiting: 0 }],
      ['idle', { executions: 0, waiting: 0 }],
    ]);
    const taken = await store.takeExecutions('m1', 10);
    expect(taken.map((t) => t.job)).to.deep.equal(['tick', 'other']);
    expect(await store.takeExecutions('m1', 10)).to.deep.equal([]);
    await store.endExecution(first.execution_id);
    const next = await store.takeExecutions('m2', 10);
    expect(next.map((t) => [t.executionId, t.afterPrevious])).to.deep.equal([[second.execution_id, true]]);
  });

  it('never gives one execution to two members taking at once', async () => {
    const other = await fx.open();
    const runs = Array.from({ length: 40 }, (_, i) => queuedRun({ scheduled_at: isoUtc(AT + i * 1000) }));
    await store.claimFires(runs.map((run, i) => claimOf(run, AT + i * 1000)));
    const takeAll = async (s: AsyncStore, member: string) => {
      const got: string[] = [];
      for (;;) {
        const batch = await s.takeExecutions(member, 3);
        if (batch.length === 0) return got;
        got.push(...batch.map((t) => t.executionId));
      }
    };
    const [a, b] = await Promise.all([takeAll(store, 'a'), takeAll(other, 'b')]);
    expect([...a, ...b].sort()).to.deep.equal(runs.map((r) => r.execution_id).sort());
  });

  it('keeps a node at its capacity across connections, and a released slot is free again', async () => {
    const other = await fx.open();
    expect(await store.takeNodeSlot('db1', 2, 'r1', 'a')).to.equal(true);
    expect(await other.takeNodeSlot('db1', 2, 'r2', 'b')).to.equal(true);
    expect(await other.takeNodeSlot('db1', 2, 'r3', 'b')).to.equal(false);
    expect(await store.takeNodeSlot('db2', 2, 'r4', 'a')).to.equal(true);
    expect(await store.nodeLoads()).to.deep.equal({ db1: 2, db2: 1 });
    await store.releaseNodeSlot('r1');
    await store.releaseNodeSlot('r1');
    expect(await other.takeNodeSlot('db1', 2, 'r3', 'b')).to.equal(true);
    expect(await store.nodeLoads()).to.deep.equal({ db1: 2, db2: 1 });
    // A smaller capacity (the node file changed) admits nobody until enough have left.
    expect(await store.takeNodeSlot('db1', 1, 'r5', 'a')).to.equal(false);
  });

  it('a member starting again records its runs lost, drops what it had taken and frees its slots', async () => {
    const run = queuedRun({ scheduled_at: isoUtc(AT) });
    await store.claimFires([claimOf(run, AT)]);
    await store.takeExecutions('m1', 1);
    await store.takeNodeSlot('db1', 1, run.id, 'm1');
    const lost = await store.markRunningAsLost(AT, () => [], 'm1');
    expect(lost.map((r) => r.status)).to.deep.equal(['lost']);
    expect(await store.nodeLoads()).to.deep.equal({});
    expect(await activityOf('tick')).to.deep.equal({ executions: 0, waiting: 0 });
    expect(await store.takeExecutions('m2', 1)).to.deep.equal([]);
  });
});

describeStores(
  'store: the run queue when a member dies',
  (fx) => {
    let store: AsyncStore;

    beforeEach(async () => {
      store = await fx.open();
      await store.cluster!.heartbeat({
        ...{ id: 'dead', listen: null, pid: 1, host: 'h', startedAt: AT, configHash: null, inFlight: 0 },
      });
      await sleep(300);
    });

    it('puts back work a dead member had not started, records the started run lost, frees its slots', async () => {
      const waiting = queuedRun({ job: 'a', scheduled_at: isoUtc(AT) });
      const executing = queuedRun({ job: 'b', scheduled_at: isoUtc(AT) });
      const untaken = queuedRun({ job: 'c', scheduled_at: isoUtc(AT) });
      await store.claimFires([claimOf(waiting, AT), claimOf(executing, AT)]);
      await store.takeExecutions('dead', 10);
      await store.claimFires([claimOf(untaken, AT)]);
      expect(await store.takeNodeSlot('db1', 4, executing.id, 'dead')).to.equal(true);
      const lost = await store.cluster!.markLostOfDeadMembers(200, 'self', AT, () => []);
      expect(lost.map((r) => r.id)).to.deep.equal([executing.id]);
      expect((await store.getRun(waiting.id))!).to.include({ status: 'running', member: null });
      expect((await store.getRun(untaken.id))!.status).to.equal('running');
      expect(await store.nodeLoads()).to.deep.equal({});
      const retaken = await store.takeExecutions('alive', 10);
      expect(retaken.map((t) => [t.job, t.runs.map((r) => r.id)])).to.deep.equal([
        ['a', [waiting.id]],
        ['b', []],
        ['c', [untaken.id]],
      ]);
    });

    it('queues one new attempt of a lost run when asked, even when two leaders sweep', async () => {
      const run = queuedRun({ scheduled_at: isoUtc(AT) });
      await store.claimFires([claimOf(run, AT)]);
      await store.takeExecutions('dead', 1);
      await store.markStarted(run.id, { node: 'db1', host: 'h', started_at: isoUtc(AT) });
      const rerunOf = (lost: RunRecord) => ({
        run: queuedRun({
          execution_id: lost.execution_id,
          attempt: 2,
          trigger: 'retry',
          scheduled_at: lost.scheduled_at,
        }),
        nodeKey: '*',
      });
      const other = await fx.open();
      await Promise.all([
        store.cluster!.markLostOfDeadMembers(200, 'self', AT, () => [], rerunOf),
        other.cluster!.markLostOfDeadMembers(200, 'other', AT, () => [], rerunOf),
      ]);
      await store.cluster!.markLostOfDeadMembers(200, 'self', AT, () => [], rerunOf);
      const taken = await store.takeExecutions('alive', 10);
      expect(taken).to.have.length(1);
      expect(taken[0]!.runs.map((r) => [r.attempt, r.trigger, r.member])).to.deep.equal([
        [2, 'retry', 'alive'],
      ]);
      expect((await store.getRun(run.id))!.status).to.equal('lost');
    });
  },
  ['postgres'],
);
