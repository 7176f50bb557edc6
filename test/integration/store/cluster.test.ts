/**
 * The cluster's tables (PostgreSQL only, SPEC §15): the lease takes epochs by the database's
 * clock, a claim carrying a stale fence stores nothing, and the runs of members whose heartbeat
 * stopped become lost once.
 */
import { expect } from 'chai';
import { isoUtc, type RunRecord } from '../../../src/core/types.js';
import {
  NotLeaderError,
  type AsyncStore,
  type ClusterStore,
  type MemberInfo,
} from '../../../src/store/async-store.js';
import type { FireClaim } from '../../../src/store/store.js';
import { openPostgresStore } from '../../../src/store/postgres.js';
import { fakeRun, REFERENCE_TIME } from '../../harness/runs.js';
import { describeStores, rejection } from './stores.js';

const AT = REFERENCE_TIME;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function member(id: string): MemberInfo {
  return { id, listen: null, pid: 1, host: 'h', startedAt: AT, configHash: 'c', inFlight: 0 };
}

function claimAt(at: number, run: RunRecord): FireClaim {
  return { job: 'tick', scheduledAt: at, advanceTo: at, runs: [{ run, nodeKey: '*' }] };
}

describeStores(
  'store: cluster lease, fencing and dead members',
  (fx) => {
    let store: AsyncStore;
    let cluster: ClusterStore;

    beforeEach(async () => {
      store = await fx.open();
      cluster = store.cluster!;
    });

    it('gives the lease to one member, renews it under the same epoch, and to another only once it expired (epoch + 1)', async () => {
      const a = await cluster.tryAcquireOrRenew('a', 400);
      expect(a).to.include({ holder: 'a', epoch: 1 });
      expect(a.expiresInMs).to.be.within(1, 400);
      expect(await cluster.tryAcquireOrRenew('b', 400)).to.include({ holder: 'a', epoch: 1 });
      expect(await cluster.tryAcquireOrRenew('a', 400)).to.include({ holder: 'a', epoch: 1 });
      await sleep(500);
      expect(await cluster.tryAcquireOrRenew('b', 400)).to.include({ holder: 'b', epoch: 2 });
      expect(await cluster.tryAcquireOrRenew('a', 400)).to.include({ holder: 'b', epoch: 2 });
      await cluster.releaseLease('b');
      expect(await cluster.tryAcquireOrRenew('a', 400)).to.include({ holder: 'a', epoch: 3 });
    });

    it('stores a claim only with the fence of the current, unexpired holder (NotLeaderError otherwise)', async () => {
      await cluster.tryAcquireOrRenew('a', 400);
      const first = fakeRun({ job: 'tick', status: 'running', scheduled_at: isoUtc(AT), member: 'a' });
      expect(await store.claimFires([claimAt(AT, first)], { member: 'a', epoch: 1 })).to.deep.equal([true]);
      const wrongEpoch = fakeRun({ job: 'tick', status: 'running', scheduled_at: isoUtc(AT + 1000) });
      const refused = await rejection(
        store.claimFires([claimAt(AT + 1000, wrongEpoch)], { member: 'a', epoch: 2 }),
      );
      expect(refused).to.be.instanceOf(NotLeaderError);
      expect(
        await rejection(store.claimFires([claimAt(AT + 1000, wrongEpoch)], { member: 'b', epoch: 1 })),
      ).to.be.instanceOf(NotLeaderError);
      await sleep(500); // expired: even the holder's own epoch no longer claims
      expect(
        await rejection(store.claimFires([claimAt(AT + 1000, wrongEpoch)], { member: 'a', epoch: 1 })),
      ).to.be.instanceOf(NotLeaderError);
      expect(await store.getRun(wrongEpoch.id)).to.equal(undefined);
      expect((await store.getJobState('tick'))!.lastScheduledAt).to.equal(AT);
    });

    it('lists members with heartbeat ages by the database clock', async () => {
      await cluster.heartbeat(member('a'));
      await cluster.heartbeat({ ...member('b'), inFlight: 2, listen: '127.0.0.1:1' });
      const listed = await cluster.listMembers(60_000);
      expect(listed.map((m) => m.id)).to.deep.equal(['a', 'b']);
      expect(listed[1]).to.include({ inFlight: 2, listen: '127.0.0.1:1', configHash: 'c', startedAt: AT });
      expect(listed[0]!.heartbeatAgeMs).to.be.within(0, 1000);
      await sleep(300);
      await cluster.heartbeat(member('b'));
      expect(await cluster.forgetMembers(200)).to.equal(1);
      expect((await cluster.listMembers(60_000)).map((m) => m.id)).to.deep.equal(['b']);
    });

    it('records the running runs of dead members lost once (with their outbox), never the caller’s or a live member’s', async () => {
      await cluster.heartbeat(member('live'));
      await cluster.heartbeat(member('dead'));
      await sleep(300);
      await cluster.heartbeat(member('live'));
      const runOf = (m: string | null) => fakeRun({ status: 'running', member: m });
      const dead = runOf('dead');
      const live = runOf('live');
      const self = runOf('self');
      const nobody = runOf(null);
      for (const run of [dead, live, self, nobody]) await store.insertRun(run);
      const outboxFor = (run: RunRecord) => [{ sink: 'notify' as const, key: `lost:${run.id}`, payload: {} }];
      const lost = await cluster.markLostOfDeadMembers(200, 'self', AT, outboxFor);
      expect(lost.map((r) => r.id).sort()).to.deep.equal([dead.id, nobody.id].sort());
      expect((await store.getRun(dead.id))!.status).to.equal('lost');
      expect((await store.getRun(live.id))!.status).to.equal('running');
      expect((await store.getRun(self.id))!.status).to.equal('running');
      expect(await cluster.markLostOfDeadMembers(200, 'self', AT, outboxFor)).to.deep.equal([]);
      expect((await store.outboxBacklog()).notify).to.equal(2);
      // The dead member was only paused: finishing its run afterwards changes nothing.
      await store.finishRun(
        { ...dead, status: 'succeeded', finished_at: isoUtc(AT), duration_ms: 0 },
        outboxFor(dead),
      );
      expect((await store.getRun(dead.id))!.status).to.equal('lost');
      expect((await store.outboxBacklog()).notify).to.equal(2);
    });

    it('survives the server ending a transaction left idle (a paused member): the transaction rejects, the store goes on', async () => {
      const paused = await openPostgresStore({ url: fx.url, poolSize: 1, idleInTransactionTimeoutMs: 200 });
      try {
        const run = fakeRun();
        const failed = await rejection(
          paused.transaction(async (tx) => {
            await tx.insertRun(run);
            await sleep(600); // idle inside the transaction: the server ends the session
            await tx.insertRun(fakeRun());
          }),
        );
        expect(failed).to.be.instanceOf(Error);
        await sleep(100);
        expect(await paused.getRun(run.id)).to.equal(undefined);
        const next = fakeRun();
        await paused.insertRun(next);
        expect((await paused.getRun(next.id))?.id).to.equal(next.id);
      } finally {
        await paused.close();
      }
    });

    it('marks only its own running runs lost at a member’s start', async () => {
      const mine = fakeRun({ status: 'running', member: 'a' });
      const theirs = fakeRun({ status: 'running', member: 'b' });
      for (const run of [mine, theirs]) await store.insertRun(run);
      const lost = await store.markRunningAsLost(AT, () => [], 'a');
      expect(lost.map((r) => r.id)).to.deep.equal([mine.id]);
      expect((await store.getRun(theirs.id))!.status).to.equal('running');
    });
  },
  ['postgres'],
);
