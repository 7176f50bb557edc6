import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { ManualClock } from '../../../src/core/clock.js';
import { DaemonEnv, runsOf, settle } from '../../harness/daemon-env.js';

const T0 = Date.parse('2026-11-26T09:00:30.000Z');
const SECOND = 1000;
const HOUR = 3_600_000;

function job(schedule: string) {
  return { policy: { select: 'any', roles: ['web'] }, schedule, command: ['true'], catch_up: 'all' };
}

/** Editing a schedule or re-creating a job starts counting from now: nothing to catch up. */
describe('scheduling: schedule edits and re-created jobs (manual clock, real SQLite file)', () => {
  let env: DaemonEnv;
  let clock: ManualClock;

  beforeEach(() => {
    env = new DaemonEnv();
    env.writeNode('web1');
    clock = new ManualClock(T0);
  });
  afterEach(() => env.cleanup());

  const scheduledAt = (name: string, daemon: Parameters<typeof runsOf>[0]) =>
    runsOf(daemon, name).map((r) => [r.scheduled_at, r.trigger]);

  it('an @manual job made hourly fires at the next hour, not for the hours since it was loaded', async () => {
    env.writeJob('report', job('@manual'));
    const { daemon } = await env.startScripted(clock);
    clock.advance(5 * HOUR);
    await settle();
    env.writeJob('report', job('0 * * * *'));
    await daemon.reload();
    await settle();
    expect(runsOf(daemon, 'report')).to.deep.equal([]);
    clock.set(Date.parse('2026-11-26T15:00:00.000Z'));
    await settle();
    expect(scheduledAt('report', daemon)).to.deep.equal([['2026-11-26T15:00:00.000Z', 'schedule']]);
  });

  it('a daily job made per-second while the daemon was down starts at the restart, not at its last day', async () => {
    env.writeJob('sync', job('0 0 9 * * *'));
    const first = await env.startScripted(clock);
    clock.set(Date.parse('2026-11-27T09:00:00.000Z'));
    await settle();
    expect(scheduledAt('sync', first.daemon)).to.deep.equal([['2026-11-27T09:00:00.000Z', 'schedule']]);
    await first.daemon.close();
    env.writeJob('sync', job('* * * * * *'));
    clock.set(Date.parse('2026-11-27T12:00:00.500Z'));
    const second = await env.startScripted(clock);
    await settle();
    clock.advance(SECOND);
    await settle();
    expect(scheduledAt('sync', second.daemon)).to.deep.equal([
      ['2026-11-27T09:00:00.000Z', 'schedule'],
      ['2026-11-27T12:00:01.000Z', 'schedule'],
    ]);
  });

  it('a job deleted and re-created later does not catch up from its old state', async () => {
    env.writeJob('hourly', job('0 * * * *'));
    const { daemon } = await env.startScripted(clock);
    clock.set(Date.parse('2026-11-26T10:00:00.000Z'));
    await settle();
    env.removeJob('hourly');
    await daemon.reload();
    await settle();
    clock.advance(5 * HOUR + 30 * SECOND);
    await settle();
    env.writeJob('hourly', job('0 * * * *'));
    await daemon.reload();
    await settle();
    expect(scheduledAt('hourly', daemon)).to.deep.equal([['2026-11-26T10:00:00.000Z', 'schedule']]);
  });

  it('a job deleted while the daemon was down, then re-created, does not catch up either', async () => {
    env.writeJob('hourly', job('0 * * * *'));
    const first = await env.startScripted(clock);
    clock.set(Date.parse('2026-11-26T10:00:00.000Z'));
    await settle();
    await first.daemon.close();
    env.removeJob('hourly');
    const second = await env.startScripted(clock);
    await second.daemon.close();
    clock.set(Date.parse('2026-11-26T15:00:30.000Z'));
    env.writeJob('hourly', job('0 * * * *'));
    const third = await env.startScripted(clock);
    await settle();
    expect(scheduledAt('hourly', third.daemon)).to.deep.equal([['2026-11-26T10:00:00.000Z', 'schedule']]);
  });

  it('a job whose file is broken at a restart keeps its baseline: fixed, it catches up', async () => {
    env.writeJob('hourly', job('0 * * * *'));
    const first = await env.startScripted(clock);
    await first.daemon.close();
    writeFileSync(join(env.jobsDir, 'hourly.json'), '{"policy": ');
    clock.set(Date.parse('2026-11-26T10:30:00.000Z'));
    const second = await env.startScripted(clock);
    await settle();
    expect(runsOf(second.daemon, 'hourly')).to.deep.equal([]);
    env.writeJob('hourly', job('0 * * * *'));
    await second.daemon.reload();
    await settle();
    expect(scheduledAt('hourly', second.daemon)).to.deep.equal([['2026-11-26T10:00:00.000Z', 'catch_up']]);
  });

  it('an edit that keeps the schedule keeps catching up what the restart missed', async () => {
    env.writeJob('hourly', job('0 * * * *'));
    const first = await env.startScripted(clock);
    await first.daemon.close();
    env.writeJob('hourly', { ...job('0 * * * *'), command: ['echo', 'v2'] });
    clock.set(Date.parse('2026-11-26T11:00:30.000Z'));
    const second = await env.startScripted(clock);
    await settle();
    expect(scheduledAt('hourly', second.daemon)).to.deep.equal([
      ['2026-11-26T10:00:00.000Z', 'catch_up'],
      ['2026-11-26T11:00:00.000Z', 'catch_up'],
    ]);
  });

  it('a disabled job lists no next fire times; enabled again, it lists them', async () => {
    env.writeJob('hourly', job('0 * * * *'));
    env.writeJob('off', { ...job('0 * * * *'), enabled: false });
    const { daemon } = await env.startScripted(clock);
    expect((await daemon.control.getJob('off'))!.nextFireTimes).to.deep.equal([]);
    expect((await daemon.control.listJobs(['off']))[0]!.nextFireTimes).to.deep.equal([]);
    expect((await daemon.control.getJob('hourly'))!.nextFireTimes[0]).to.equal('2026-11-26T10:00:00.000Z');
    await daemon.control.setJobEnabled('hourly', false);
    expect((await daemon.control.getJob('hourly'))!.nextFireTimes).to.deep.equal([]);
    expect((await daemon.control.listJobs(['hourly']))[0]!.nextFireTimes).to.deep.equal([]);
    await daemon.control.setJobEnabled('hourly', true);
    expect((await daemon.control.listJobs(['hourly']))[0]!.nextFireTimes).to.deep.equal([
      '2026-11-26T10:00:00.000Z',
    ]);
  });
});
