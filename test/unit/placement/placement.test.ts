import { expect } from 'chai';
import type { JobPolicy } from '../../../src/core/types.js';
import {
  orderForAny,
  PlacementHistory,
  selectCandidates,
  type NodeLoad,
} from '../../../src/placement/index.js';
import { jobDef, nodeDef } from '../../harness/defs.js';

const fleet = new Map(
  [
    nodeDef('web1', { roles: ['web'], labels: { dc: 'fra' } }),
    nodeDef('web2', { roles: ['web', 'db'], labels: { dc: 'ams' } }),
    nodeDef('db1', { roles: ['db'], labels: { dc: 'fra' } }),
    nodeDef('old', { roles: ['web'], disabled: true }),
  ].map((n) => [n.name, n]),
);

function policy(p: Partial<JobPolicy>): JobPolicy {
  return { select: 'any', rolesMatch: 'any', labels: {}, placement: 'least_loaded', ...p };
}

const names = (nodes: { name: string }[]) => nodes.map((n) => n.name);

describe('placement: candidates', () => {
  it('takes policy.hosts in the order given, ignoring roles', () => {
    const job = jobDef('j', { policy: policy({ hosts: ['db1', 'web1'], roles: ['nope'] }) });
    expect(names(selectCandidates(job, fleet).nodes)).to.deep.equal(['db1', 'web1']);
  });

  it('matches a node that has any listed role, minus disabled nodes', () => {
    const job = jobDef('j', { policy: policy({ roles: ['web'] }) });
    expect(names(selectCandidates(job, fleet).nodes)).to.deep.equal(['web1', 'web2']);
  });

  it('requires every role with roles_match all', () => {
    const job = jobDef('j', { policy: policy({ roles: ['web', 'db'], rolesMatch: 'all' }) });
    expect(names(selectCandidates(job, fleet).nodes)).to.deep.equal(['web2']);
  });

  it('requires every label to match', () => {
    const job = jobDef('j', { policy: policy({ roles: ['web', 'db'], labels: { dc: 'fra' } }) });
    expect(names(selectCandidates(job, fleet).nodes)).to.deep.equal(['db1', 'web1']);
  });

  it('explains why there is no candidate', () => {
    const none = selectCandidates(jobDef('j', { policy: policy({ roles: ['cache'] }) }), fleet);
    expect(none.nodes).to.deep.equal([]);
    expect(none.reason).to.equal('no candidate node: no node matches roles cache');
    const disabled = selectCandidates(jobDef('j', { policy: policy({ hosts: ['old'] }) }), fleet);
    expect(disabled.reason).to.equal('no candidate node: every node matching hosts old is disabled');
  });
});

describe('placement: order for any', () => {
  const candidates = ['a', 'b', 'c'].map((n) => nodeDef(n));
  const loads: Record<string, NodeLoad> = {
    a: { up: true, inFlight: 2 },
    b: { up: true, inFlight: 1 },
    c: { up: true, inFlight: 1 },
  };
  /** The job's own use order: b more recently than c, a never. */
  const used: Record<string, number> = { a: 0, b: 5, c: 3 };
  const base = {
    candidates,
    load: (n: string) => loads[n]!,
    roundRobinCursor: 0,
    random: () => 0,
    jobLastUse: (n: string) => used[n]!,
  };

  it('least_loaded puts the fewest runs in flight first, ties to the node this job used least recently', () => {
    expect(names(orderForAny({ ...base, placement: 'least_loaded' }).order)).to.deep.equal(['c', 'b', 'a']);
  });

  it('least_loaded breaks a tie the job has no history for at random, not by name', () => {
    const draws = [0.7, 0.2, 0.5];
    const random = () => draws.shift()!;
    const order = orderForAny({ ...base, placement: 'least_loaded', random, jobLastUse: () => 0 }).order;
    expect(names(order)).to.deep.equal(['b', 'c', 'a']);
  });

  it('round_robin rotates through the candidates and advances its cursor', () => {
    const first = orderForAny({ ...base, placement: 'round_robin', roundRobinCursor: 4 });
    expect(names(first.order)).to.deep.equal(['b', 'c', 'a']);
    expect(first.nextRoundRobinCursor).to.equal(5);
  });

  it('random starts at a uniformly drawn candidate and falls back to the others', () => {
    expect(names(orderForAny({ ...base, placement: 'random', random: () => 0.99 }).order)).to.deep.equal([
      'c',
      'a',
      'b',
    ]);
  });

  it('never tries a node that is down', () => {
    const load = (n: string) => ({ ...loads[n]!, up: n !== 'c' });
    expect(names(orderForAny({ ...base, load, placement: 'least_loaded' }).order)).to.deep.equal(['b', 'a']);
  });

  it('least_loaded spreads an any job over hosts an all job keeps equally busy (60 fires, 6 hosts)', () => {
    const hosts = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((n) => nodeDef(n));
    const history = new PlacementHistory();
    const inFlight = new Map(hosts.map((h) => [h.name, 0]));
    const counts = new Map(hosts.map((h) => [h.name, 0]));
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let fire = 0; fire < 60; fire++) {
      // The all job's fan-out starts on every host in the same millisecond, and is still running.
      for (const h of hosts) {
        inFlight.set(h.name, inFlight.get(h.name)! + 1);
        history.note('fanout', h.name);
      }
      const order = orderForAny({
        candidates: hosts,
        placement: 'least_loaded',
        load: (n) => ({ up: true, inFlight: inFlight.get(n)! }),
        roundRobinCursor: 0,
        random,
        jobLastUse: (n) => history.lastUse('pick', n),
      }).order;
      const chosen = order[0]!.name;
      history.note('pick', chosen);
      counts.set(chosen, counts.get(chosen)! + 1);
      for (const h of hosts) inFlight.set(h.name, inFlight.get(h.name)! - 1);
    }
    for (const [host, n] of counts) expect(n, host).to.be.within(5, 20);
  });

  it('tries avoided nodes (a failed attempt) last', () => {
    const order = orderForAny({ ...base, placement: 'least_loaded', avoid: new Set(['c']) }).order;
    expect(names(order)).to.deep.equal(['b', 'a', 'c']);
  });
});
