import { expect } from 'chai';
import { ManualClock } from '../../../src/core/clock.js';
import { DaemonEnv, runsOf, settle } from '../../harness/daemon-env.js';

const T0 = Date.parse('2026-11-26T09:00:00.000Z');
const MIN = 60_000;
const at = (m: number) => new Date(T0 + m * MIN).toISOString();

function everyMinuteJob(extra: object = {}) {
  return { policy: { select: 'any', roles: ['web'] }, schedule: '* * * * *', command: ['true'], ...extra };
}

describe('scheduling engine (manual clock, real SQLite file)', () => {
  let env: DaemonEnv;
  let clock: ManualClock;

  beforeEach(() => {
    env = new DaemonEnv();
    env.writeNode('web1');
    clock = new ManualClock(T0);
  });
  afterEach(() => env.cleanup());

  async function tick(minutes: number) {
    for (let i = 0; i < minutes; i++) {
      clock.advance(MIN);
      await settle();
    }
  }

  it('fires a cron job once at each instant, on the scheduled node', async () => {
    env.writeJob('every-minute', everyMinuteJob());
    const { daemon } = await env.startScripted(clock);
    await tick(3);
    const runs = runsOf(daemon, 'every-minute');
    expect(runs.map((r) => [r.scheduled_at, r.trigger, r.status, r.node])).to.deep.equal([
      [at(1), 'schedule', 'succeeded', 'web1'],
      [at(2), 'schedule', 'succeeded', 'web1'],
      [at(3), 'schedule', 'succeeded', 'web1'],
    ]);
  });

  it('never fires an instant twice when the clock jumps backwards', async () => {
    env.writeJob('every-minute', everyMinuteJob());
    const { daemon } = await env.startScripted(clock);
    await tick(2);
    clock.set(T0 - 30 * MIN);
    await settle();
    clock.set(T0 + 3 * MIN);
    await settle();
    expect(runsOf(daemon, 'every-minute').map((r) => r.scheduled_at)).to.deep.equal([at(1), at(2), at(3)]);
  });

  describe('catch-up after downtime', () => {
    async function downtime(policy: string, schedule: string, downMinutes: number) {
      env.writeJob('nightly', { ...everyMinuteJob({ schedule, catch_up: policy }) });
      const first = await env.startScripted(clock);
      await tick(1);
      await first.daemon.close();
      clock.set(T0 + downMinutes * MIN);
      const second = await env.startScripted(clock);
      await settle();
      return runsOf(second.daemon, 'nightly');
    }

    it('latest runs once, now, for the latest missed instant and records the others as one missed run', async () => {
      const runs = await downtime('latest', '*/10 * * * *', 95);
      expect(runs.map((r) => [r.scheduled_at, r.trigger, r.status])).to.deep.equal([
        [at(80), 'schedule', 'missed'],
        [at(90), 'catch_up', 'succeeded'],
      ]);
      expect(runs[0]!.error).to.match(/^missed 8 scheduled instants between 2026-11-26T09:10:00.000Z and /);
    });

    it('skip records one missed run naming the gap, and runs nothing', async () => {
      const runs = await downtime('skip', '*/10 * * * *', 95);
      expect(runs).to.have.length(1);
      expect(runs[0]).to.include({ scheduled_at: at(90), status: 'missed' });
      expect(runs[0]!.error).to.match(/^missed 9 scheduled instants between/);
    });

    it('all replays every missed instant in order', async () => {
      const runs = await downtime('all', '*/10 * * * *', 95);
      expect(runs.map((r) => r.scheduled_at)).to.deep.equal([10, 20, 30, 40, 50, 60, 70, 80, 90].map(at));
      expect(runs.every((r) => r.trigger === 'catch_up' && r.status === 'succeeded')).to.equal(true);
    });

    it('all replays at most 100 instants and records the rest as one missed run', async () => {
      const runs = await downtime('all', '* * * * *', 250);
      const replayed = runs.filter((r) => r.status === 'succeeded' && r.scheduled_at !== at(1));
      const missed = runs.filter((r) => r.status === 'missed');
      expect(replayed).to.have.length(100);
      expect(replayed[0]!.scheduled_at).to.equal(at(151));
      expect(missed).to.have.length(1);
      expect(missed[0]!.error).to.match(/^missed 149 scheduled instants/);
    });

    it('a fresh daemon never catches up a job it has not seen before', async () => {
      env.writeJob('new', everyMinuteJob({ catch_up: 'all' }));
      clock.set(T0 + 500 * MIN);
      const { daemon } = await env.startScripted(clock);
      await settle();
      expect(runsOf(daemon, 'new')).to.deep.equal([]);
    });
  });

  describe('overlap', () => {
    it('skip records a skipped run while the previous one is still running', async () => {
      env.writeJob('slow', everyMinuteJob({ overlap: 'skip' }));
      const { daemon, executor } = await env.startScripted(clock);
      executor.script = () => 'hold';
      await tick(2);
      expect(runsOf(daemon, 'slow').map((r) => r.status)).to.deep.equal(['running', 'skipped']);
      executor.held('slow')[0]!.finish('succeeded');
      await settle();
      await tick(1);
      expect(runsOf(daemon, 'slow').map((r) => r.status)).to.deep.equal(['succeeded', 'skipped', 'running']);
    });

    it('queue keeps at most one run waiting and starts it when the previous one ends', async () => {
      env.writeJob('slow', everyMinuteJob({ overlap: 'queue' }));
      const { daemon, executor } = await env.startScripted(clock);
      executor.script = () => 'hold';
      await tick(3);
      expect(runsOf(daemon, 'slow').map((r) => r.status)).to.deep.equal(['running', 'running', 'skipped']);
      expect(executor.calls).to.have.length(1);
      executor.calls[0]!.finish('succeeded');
      await settle();
      expect(executor.calls).to.have.length(2);
      expect(executor.calls[1]!.req.runId).to.equal(runsOf(daemon, 'slow')[1]!.id);
    });

    it('allow runs them side by side', async () => {
      env.writeJob('slow', everyMinuteJob({ overlap: 'allow' }));
      const { daemon, executor } = await env.startScripted(clock);
      executor.script = () => 'hold';
      await tick(3);
      expect(executor.calls).to.have.length(3);
      expect(runsOf(daemon, 'slow').every((r) => r.status === 'running')).to.equal(true);
    });
  });

  it('retries a failed run after the delay, with the same execution and a new attempt', async () => {
    env.writeJob('flaky', everyMinuteJob({ schedule: '0 10 * * *', retries: { count: 2, delay: '5m' } }));
    const { daemon, executor } = await env.startScripted(clock);
    executor.script = () => 'fail';
    await tick(60);
    expect(runsOf(daemon, 'flaky')).to.have.length(1);
    await tick(5);
    await tick(5);
    const runs = runsOf(daemon, 'flaky');
    expect(runs.map((r) => [r.attempt, r.trigger, r.status])).to.deep.equal([
      [1, 'schedule', 'failed'],
      [2, 'retry', 'failed'],
      [3, 'retry', 'failed'],
    ]);
    expect(new Set(runs.map((r) => r.execution_id)).size).to.equal(1);
    expect(new Set(runs.map((r) => r.scheduled_at))).to.deep.equal(new Set([at(60)]));
  });

  it('passes the job timeout to the executor and counts a wait for a node slot against it', async () => {
    env.writeNode('web1', { roles: ['web'], connection_type: 'local', max_concurrent_runs: 1 });
    env.writeJob('a', everyMinuteJob({ schedule: '@manual', timeout: '10m' }));
    env.writeJob('b', everyMinuteJob({ schedule: '@manual', timeout: '2m' }));
    const { daemon, executor } = await env.startScripted(clock);
    executor.script = () => 'hold';
    await daemon.control.runJob('a', {});
    const b = await daemon.control.runJob('b', {});
    await settle();
    expect(executor.calls.map((c) => c.req.timeoutMs)).to.deep.equal([10 * MIN]);
    await tick(3);
    const waited = (await daemon.control.getRun(b.runIds[0]!))!;
    expect(waited.status).to.equal('timed_out');
    expect(waited.error).to.equal('timed out waiting for a free slot on node web1 (max_concurrent_runs 1)');
  });

  it('cancels a running run and records why', async () => {
    env.writeJob('slow', everyMinuteJob({ schedule: '@manual' }));
    const { daemon, executor } = await env.startScripted(clock);
    executor.script = () => 'hold';
    const { runIds } = await daemon.control.runJob('slow', {});
    await settle();
    expect(await daemon.control.cancelRun(runIds[0]!)).to.equal(true);
    const run = await daemon.control.waitForRun(runIds[0]!);
    expect(run).to.include({ status: 'cancelled', error: 'cancelled through the API' });
    expect(await daemon.control.cancelRun(runIds[0]!)).to.equal(false);
  });

  it('a disabled job does not fire, and enabling it does not replay the disabled period', async () => {
    env.writeJob('paused', everyMinuteJob({ catch_up: 'all' }));
    const { daemon } = await env.startScripted(clock);
    await daemon.control.setJobEnabled('paused', false);
    await tick(5);
    await daemon.control.setJobEnabled('paused', true);
    await tick(1);
    expect(runsOf(daemon, 'paused').map((r) => r.scheduled_at)).to.deep.equal([at(6)]);
  });

  it('an any job fails over to the next node when connecting fails, and marks the node down', async () => {
    env.writeNode('web2');
    env.writeJob(
      'failover',
      everyMinuteJob({ schedule: '@manual', policy: { select: 'any', roles: ['web'] } }),
    );
    const { daemon, executor } = await env.startScripted(clock);
    executor.script = (_job, node) => (node === 'web1' ? 'unreachable' : 'succeed');
    // Ties go to the node this job used least recently, else at random: by the second run web1
    // has been tried whichever node the first one drew.
    for (let i = 0; i < 2; i++) {
      const { runIds } = await daemon.control.runJob('failover', {});
      const run = await daemon.control.waitForRun(runIds[0]!);
      expect(run).to.include({ status: 'succeeded', node: 'web2', trigger: 'manual' });
    }
    expect((await daemon.control.getNode('web1'))!.health).to.include({
      up: false,
      lastError: 'ssh: web1 unreachable',
    });
  });

  it('an all job records an error run for a node that is down, never a silent skip', async () => {
    env.writeNode('web2');
    env.writeJob(
      'fanout',
      everyMinuteJob({ schedule: '@manual', policy: { select: 'all', roles: ['web'] } }),
    );
    const { daemon, executor } = await env.startScripted(clock);
    executor.script = (_job, node) => (node === 'web1' ? 'unreachable' : 'succeed');
    await daemon.control.runJob('fanout', {});
    await settle();
    await daemon.control.runJob('fanout', {});
    await settle();
    const runs = runsOf(daemon, 'fanout').map((r) => [r.node, r.status, r.error]);
    expect(runs).to.deep.include.members([
      ['web1', 'error', 'ssh: web1 unreachable'],
      ['web2', 'succeeded', null],
      ['web1', 'error', 'node down: ssh: web1 unreachable'],
    ]);
  });

  it('no candidate node gives an error run with the reason', async () => {
    env.writeJob('orphan', everyMinuteJob({ policy: { select: 'any', roles: ['cache'] } }));
    const { daemon } = await env.startScripted(clock);
    await tick(1);
    expect(runsOf(daemon, 'orphan').map((r) => [r.status, r.error])).to.deep.equal([
      ['error', 'no candidate node: no node matches roles cache'],
    ]);
  });
});
