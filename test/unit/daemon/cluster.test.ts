import { expect } from 'chai';
import { resolveDaemonOptions } from '../../../src/cli/daemon-flags.js';
import { silentLogger } from '../../../src/core/log.js';
import type { LeadershipHandlers } from '../../../src/daemon/cluster.js';
import { PostgresMembership } from '../../../src/daemon/postgres-membership.js';
import { checkLeaseSettings, memberIdOf, withDefaults } from '../../../src/daemon/options.js';
import { NotLeaderError, type ClusterStore, type LeaseState } from '../../../src/store/async-store.js';

describe('cluster settings', () => {
  it('reads --member-id, --lease-ttl and --lease-renew (defaults 8 s and 2 s)', () => {
    const defaults = withDefaults(resolveDaemonOptions({}, {}));
    expect(defaults).to.include({ leaseTtlMs: 8_000, leaseRenewMs: 2_000 });
    expect(defaults.memberId).to.equal(undefined);
    const set = resolveDaemonOptions({ memberId: 'm1', leaseTtl: '3s', leaseRenew: '1s' }, {});
    expect(set).to.include({ memberId: 'm1', leaseTtlMs: 3_000, leaseRenewMs: 1_000 });
    expect(resolveDaemonOptions({}, { DISTCRON_MEMBER_ID: 'env' }).memberId).to.equal('env');
  });

  it('defaults the member id to HOSTNAME:PORT of --listen, else HOSTNAME:PID', () => {
    expect(memberIdOf(withDefaults({ listen: '0.0.0.0:8081' }), 'box', 42)).to.equal('box:8081');
    expect(memberIdOf(withDefaults({ listen: null }), 'box', 42)).to.equal('box:42');
    expect(memberIdOf(withDefaults({ memberId: 'mine', listen: null }), 'box', 42)).to.equal('mine');
  });

  it('wants the renewal interval below half the TTL', () => {
    expect(() => checkLeaseSettings(withDefaults({}))).to.not.throw();
    expect(() => checkLeaseSettings(withDefaults({ leaseTtlMs: 4_000, leaseRenewMs: 2_000 }))).to.throw(
      /--lease-renew \(2000 ms\) must be less than half of --lease-ttl \(4000 ms\)/,
    );
    expect(() => checkLeaseSettings(withDefaults({ leaseRenewMs: 0 }))).to.throw(/positive/);
  });
});

/** A cluster store whose lease answers are scripted; time is a manual monotonic clock. */
function harness(ttlMs = 3_000, renewMs = 1_000) {
  let now = 0;
  const answers: (LeaseState | Error)[] = [];
  const store: ClusterStore = {
    heartbeat: () => Promise.resolve(),
    tryAcquireOrRenew: () => {
      const next = answers.shift() ?? new Error('database unreachable');
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    releaseLease: () => Promise.resolve(),
    listMembers: () => Promise.resolve([]),
    forgetMembers: () => Promise.resolve(0),
    markLostOfDeadMembers: () => Promise.resolve([]),
    watchQueue: () => Promise.resolve(() => Promise.resolve()),
  };
  const events: string[] = [];
  const handlers: LeadershipHandlers = {
    lead: (epoch) => (events.push(`lead ${epoch}`), Promise.resolve()),
    follow: () => (events.push('follow'), Promise.resolve()),
  };
  const membership = new PostgresMembership({
    cluster: store,
    self: {
      id: 'me',
      listen: null,
      pid: 1,
      host: 'h',
      startedAt: 0,
      configHash: () => null,
      inFlight: () => 0,
    },
    ttlMs,
    renewMs,
    logger: silentLogger(),
    now: () => 0,
    outboxFor: () => [],
    monotonic: () => now,
  });
  return { membership, answers, events, handlers, advance: (ms: number) => (now += ms) };
}

describe('cluster membership: leadership and the local claim deadline', () => {
  it('leads with the lease, fences claims with its epoch, and stops claiming before the lease can expire', async () => {
    const h = harness();
    h.answers.push({ holder: 'me', epoch: 4, expiresInMs: 3_000 });
    await h.membership.start(h.handlers);
    try {
      expect(h.events).to.deep.equal(['lead 4']);
      expect(h.membership.fence()).to.deep.equal({ member: 'me', epoch: 4 });
      expect(h.membership.health()).to.deep.equal({ role: 'leader' });
      // No renewal got through: past TTL − margin (3000 − 750) it refuses to claim by itself.
      h.advance(2_249);
      expect(h.membership.fence()).to.deep.equal({ member: 'me', epoch: 4 });
      h.advance(1);
      expect(() => h.membership.fence()).to.throw(NotLeaderError);
    } finally {
      await h.membership.close();
    }
  });

  it('follows while another member holds the lease, and never claims', async () => {
    const h = harness();
    h.answers.push({ holder: 'other', epoch: 2, expiresInMs: 3_000 });
    await h.membership.start(h.handlers);
    try {
      expect(h.events).to.deep.equal([]);
      expect(h.membership.health().role).to.equal('follower');
      expect(() => h.membership.fence()).to.throw(NotLeaderError);
      expect((await h.membership.view()).leader).to.equal('other');
    } finally {
      await h.membership.close();
    }
  });

  it('reports a lease problem on /healthz when the database does not answer', async () => {
    const h = harness();
    h.answers.push(new Error('connect ECONNREFUSED'));
    await h.membership.start(h.handlers);
    try {
      expect(h.membership.health()).to.deep.equal({
        role: 'follower',
        problem: 'cannot reach the lease: connect ECONNREFUSED',
      });
    } finally {
      await h.membership.close();
    }
  });

  it('steps down when a claim is refused (the lease is gone)', async () => {
    const h = harness();
    h.answers.push({ holder: 'me', epoch: 1, expiresInMs: 3_000 });
    await h.membership.start(h.handlers);
    try {
      h.membership.lostLeadership();
      await h.membership.resign();
      expect(h.events).to.deep.equal(['lead 1', 'follow']);
      expect(() => h.membership.fence()).to.throw(NotLeaderError);
    } finally {
      await h.membership.close();
    }
  });
});
