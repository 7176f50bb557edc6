import { expect } from 'chai';
import type { RunRecord } from '../../../src/core/types.js';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { DaemonProcess, readRuns, waitFor } from '../../harness/daemon-process.js';

const SECOND = 1000;

/** The instants a run stands for: its own, or for a `missed` run the range its error names. */
function instantsOf(run: RunRecord): number[] {
  if (run.status !== 'missed') return [Date.parse(run.scheduled_at!)];
  const range = /between (\S+) and (\S+) \(/.exec(run.error ?? '');
  const single = /instant at (\S+) \(/.exec(run.error ?? '');
  const from = Date.parse(range ? range[1]! : single![1]!);
  const to = range ? Date.parse(range[2]!) : from;
  const out: number[] = [];
  for (let t = from; t <= to; t += SECOND) out.push(t);
  expect(run.error).to.match(new RegExp(`^missed ${out.length} scheduled instants? `));
  return out;
}

describe('daemon process: a short restart loses no instant', function () {
  this.timeout(120_000);
  let env: DaemonEnv;
  let daemon: DaemonProcess | null = null;

  beforeEach(() => {
    env = new DaemonEnv();
    env.writeNode('local', { roles: ['local'], connection_type: 'local' });
  });

  afterEach(async () => {
    if (daemon && daemon.child.exitCode === null) daemon.kill('SIGKILL');
    await env.cleanup();
  });

  function start(): DaemonProcess {
    daemon = new DaemonProcess(env.processArgs());
    return daemon;
  }

  const runs = () => readRuns(env.dbPath, 'tick');
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** Every second from the first run to the last is one run or lies in one missed run's range. */
  function expectEverySecondOnce(all: RunRecord[]): void {
    const covered = all.flatMap(instantsOf).sort((a, b) => a - b);
    const first = covered[0]!;
    const last = covered[covered.length - 1]!;
    const expected = Array.from({ length: (last - first) / SECOND + 1 }, (_, i) => first + i * SECOND);
    expect(covered.map((t) => new Date(t).toISOString())).to.deep.equal(
      expected.map((t) => new Date(t).toISOString()),
    );
  }

  async function killAndRestart(policy: string): Promise<{ all: RunRecord[]; down: RunRecord[] }> {
    env.writeJob('tick', {
      policy: { select: 'any', roles: ['local'] },
      schedule: '* * * * * *',
      command: ['true'],
      overlap: 'allow',
      catch_up: policy,
    });
    const first = start();
    await waitFor('three runs', () => runs().filter((r) => r.status === 'succeeded').length >= 3);
    first.kill('SIGKILL');
    await first.exited;
    const killedAt = Date.now();
    await pause(3 * SECOND);
    const second = start();
    const restartedAt = Date.now();
    await waitFor('on-time runs after the restart', () =>
      runs().some((r) => r.trigger === 'schedule' && Date.parse(r.scheduled_at!) > restartedAt + 2 * SECOND),
    );
    second.kill('SIGTERM');
    expect(await second.exited).to.deep.equal({ code: 0, signal: null });
    const all = runs();
    // Instants that certainly came while no daemon ran: after the kill, before the restart.
    const down = all.filter((r) => {
      const at = Date.parse(r.scheduled_at!);
      return at > killedAt && at <= restartedAt;
    });
    return { all, down };
  }

  it('catch_up all: each second of the outage runs, as a catch-up', async () => {
    const { all, down } = await killAndRestart('all');
    expectEverySecondOnce(all);
    expect(all.filter((r) => r.status === 'missed')).to.deep.equal([]);
    expect(down.length).to.be.at.least(2);
    expect(down.map((r) => [r.trigger, r.status])).to.deep.equal(down.map(() => ['catch_up', 'succeeded']));
  });

  it('catch_up latest: one catch-up run, the rest of the outage one missed run', async () => {
    const { all } = await killAndRestart('latest');
    expectEverySecondOnce(all);
    expect(all.filter((r) => r.trigger === 'catch_up')).to.have.length(1);
    expect(all.filter((r) => r.status === 'missed')).to.have.length(1);
  });

  it('catch_up skip: one missed run names the outage', async () => {
    const { all } = await killAndRestart('skip');
    expectEverySecondOnce(all);
    expect(all.filter((r) => r.trigger === 'catch_up')).to.deep.equal([]);
    expect(all.filter((r) => r.status === 'missed')).to.have.length(1);
  });
});
