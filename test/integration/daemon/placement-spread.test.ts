import { expect } from 'chai';
import { ManualClock } from '../../../src/core/clock.js';
import { DaemonEnv, runsOf, settle } from '../../harness/daemon-env.js';

const T0 = Date.parse('2026-11-26T09:00:00.000Z');
const MIN = 60_000;
const HOSTS = ['web1', 'web2', 'web3', 'web4', 'web5', 'web6'];

describe('placement: least_loaded beside an all job (manual clock, real SQLite file)', () => {
  let env: DaemonEnv;

  beforeEach(() => {
    env = new DaemonEnv();
    for (const host of HOSTS) env.writeNode(host);
  });
  afterEach(() => env.cleanup());

  it('spreads an any job over 6 hosts an all job keeps equally busy: each between half and twice its share', async () => {
    const policy = (select: string) => ({ select, roles: ['web'], placement: 'least_loaded' });
    env.writeJob('pick', { policy: policy('any'), schedule: '* * * * *', command: ['true'] });
    env.writeJob('fanout', { policy: policy('all'), schedule: '* * * * *', command: ['true'] });
    const clock = new ManualClock(T0);
    const { daemon, executor } = await env.startScripted(clock);
    // The fan-out's runs start on every host in the same millisecond and last the minute.
    executor.script = (job) => (job === 'fanout' ? 'hold' : 'succeed');
    for (let fire = 0; fire < 60; fire++) {
      clock.advance(MIN);
      await settle();
      for (const call of executor.held('fanout')) call.finish('succeeded');
      executor.calls.splice(0);
      await settle();
    }
    const picks = runsOf(daemon, 'pick');
    expect(picks).to.have.length(60);
    const share = new Map(HOSTS.map((h) => [h, picks.filter((r) => r.node === h).length]));
    for (const [host, n] of share) expect(n, `${host} got ${n} of 60`).to.be.within(5, 20);
  });
});
