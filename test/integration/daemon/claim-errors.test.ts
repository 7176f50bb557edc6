import { expect } from 'chai';
import { ManualClock } from '../../../src/core/clock.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { DaemonEnv, runsOf, settle } from '../../harness/daemon-env.js';

const T0 = Date.parse('2026-11-26T09:00:00.000Z');
const MIN = 60_000;
const at = (m: number) => new Date(T0 + m * MIN).toISOString();

/**
 * Fault injection on the real SQLite store: its claimFires throws SQLITE_BUSY `times` times
 * (as a locked or full database would), then claims as usual.
 */
function refuseClaims(times: number): { calls: () => number; restore: () => void } {
  const original = Object.getOwnPropertyDescriptor(SqliteStore.prototype, 'claimFires')!;
  let calls = 0;
  SqliteStore.prototype.claimFires = function (this: SqliteStore, claims) {
    if (calls++ < times) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    return (original.value as SqliteStore['claimFires']).call(this, claims);
  };
  return {
    calls: () => calls,
    restore: () => Object.defineProperty(SqliteStore.prototype, 'claimFires', original),
  };
}

describe('scheduling: the store refuses claims (real SQLite file, injected faults)', () => {
  let env: DaemonEnv;
  let clock: ManualClock;
  let fault: ReturnType<typeof refuseClaims> | null = null;

  beforeEach(() => {
    env = new DaemonEnv();
    env.writeNode('web1');
    clock = new ManualClock(T0);
  });
  afterEach(async () => {
    fault?.restore();
    fault = null;
    await env.cleanup();
  });

  const job = (catchUp: string) => ({
    policy: { select: 'any', roles: ['web'] },
    schedule: '* * * * *',
    command: ['true'],
    catch_up: catchUp,
  });

  async function advance(ms: number, step = 250) {
    for (let done = 0; done < ms; done += step) {
      clock.advance(step);
      await settle();
    }
  }

  it('an instant whose claim fails is retried, not lost: every instant runs exactly once', async () => {
    env.writeJob('tick', job('skip'));
    const { daemon } = await env.startScripted(clock);
    fault = refuseClaims(3);
    await advance(3 * MIN);
    expect(fault.calls()).to.be.greaterThan(3);
    const runs = runsOf(daemon, 'tick');
    expect(runs.map((r) => [r.scheduled_at, r.status])).to.deep.equal([
      [at(1), 'succeeded'],
      [at(2), 'succeeded'],
      [at(3), 'succeeded'],
    ]);
    const { text: metrics } = await daemon.control.metricsText();
    expect(metrics).to.match(/^distcron_claim_errors_total 3$/m);
  });

  it('a catch-up series whose claim fails is claimed whole on a retry: none lost, none left running', async () => {
    env.writeJob('tick', job('all'));
    const first = await env.startScripted(clock);
    await advance(MIN);
    await first.daemon.close();
    clock.set(T0 + 5 * MIN + 30_000);
    fault = refuseClaims(2);
    const second = await env.startScripted(clock);
    await settle();
    expect(runsOf(second.daemon, 'tick').map((r) => r.scheduled_at)).to.deep.equal([at(1)]);
    await advance(5_000);
    const runs = runsOf(second.daemon, 'tick');
    expect(runs.map((r) => [r.scheduled_at, r.trigger, r.status])).to.deep.equal([
      [at(1), 'schedule', 'succeeded'],
      [at(2), 'catch_up', 'succeeded'],
      [at(3), 'catch_up', 'succeeded'],
      [at(4), 'catch_up', 'succeeded'],
      [at(5), 'catch_up', 'succeeded'],
    ]);
  });
});
