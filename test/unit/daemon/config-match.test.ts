import { expect } from 'chai';
import { ConfigMatch } from '../../../src/daemon/config-match.js';

describe('cluster: a member whose configuration differs from the leader’s', () => {
  it('is reported once the difference has lasted two heartbeats, naming both hashes and the leader', () => {
    const match = new ConfigMatch();
    match.observe('aaa', { id: 'm1', hash: 'bbb' });
    expect(match.problem(), 'one heartbeat: an API write may still be on its way').to.equal(undefined);
    match.observe('aaa', { id: 'm1', hash: 'bbb' });
    expect(match.problem()).to.equal(
      "the configuration loaded here (hash aaa) differs from the leader m1's (hash bbb): deploy the same " +
        'jobs.d and nodes.d files to every member (API writes are shared, files dropped by hand are not)',
    );
  });

  it('is healthy again at the first heartbeat with the leader’s hash, and while no leader is known', () => {
    const match = new ConfigMatch();
    match.observe('aaa', { id: 'm1', hash: 'bbb' });
    match.observe('aaa', { id: 'm1', hash: 'bbb' });
    match.observe('bbb', { id: 'm1', hash: 'bbb' });
    expect(match.problem()).to.equal(undefined);
    match.observe('aaa', { id: 'm1', hash: 'bbb' });
    match.observe('aaa', null);
    match.observe('aaa', { id: 'm1', hash: 'bbb' });
    expect(match.problem(), 'the count starts again after a heartbeat without a leader').to.equal(undefined);
  });
});
