import { expect } from 'chai';
import { runNext } from '../../../src/cli/next-command.js';
import { DaemonEnv, runsOf } from '../../harness/daemon-env.js';

describe('distcron next', () => {
  let env: DaemonEnv;
  beforeEach(() => (env = new DaemonEnv()));
  afterEach(() => env.cleanup());

  it('prints the next N fire times of a job from its file', async () => {
    env.writeNode('local', { roles: ['local'], connection_type: 'local' });
    env.writeJob('nightly', {
      policy: { select: 'any', roles: ['local'] },
      schedule: { cron: '30 2 * * *', timezone: 'Europe/Berlin' },
      command: ['true'],
    });
    const lines: string[] = [];
    const code = await runNext({
      jobsDir: env.jobsDir,
      nodesDir: env.nodesDir,
      job: 'nightly',
      count: 3,
      json: true,
      now: Date.parse('2026-11-26T12:00:00Z'),
      out: (l) => lines.push(l),
    });
    expect(code).to.equal(0);
    expect(JSON.parse(lines[0]!).next).to.deep.equal([
      '2026-11-27T01:30:00.000Z',
      '2026-11-28T01:30:00.000Z',
      '2026-11-29T01:30:00.000Z',
    ]);
  });

  it('exits 1 naming the directory when the job does not exist', async () => {
    const lines: string[] = [];
    expect(
      await runNext({
        jobsDir: env.jobsDir,
        nodesDir: env.nodesDir,
        job: 'nope',
        count: 1,
        json: false,
        out: (l) => lines.push(l),
      }),
    ).to.equal(1);
    expect(lines[0]).to.equal(`distcron: no job named "nope" in ${env.jobsDir}`);
  });

  it('explains what a dependent job waits for: its parents, and from the daemon which completed this round', async () => {
    env.writeNode('local', { roles: ['local'], connection_type: 'local' });
    const job = { policy: { select: 'any', roles: ['local'] }, shell_command: 'true' };
    env.writeJob('dump', { ...job, schedule: '@manual' });
    env.writeJob('vacuum', { ...job, schedule: '@manual' });
    env.writeJob('report', {
      ...job,
      schedule: '@manual',
      after: [{ job: 'dump' }, { job: 'vacuum', on: 'done', hosts: 'any' }],
      window: '12h',
    });
    const daemon = await env.start({ listen: '127.0.0.1:0' });
    const { runIds } = await daemon.control.runJob('dump', {});
    await daemon.control.waitForRun(runIds[0]!);
    const lines: string[] = [];
    const next = (json: boolean) =>
      runNext({
        ...{ jobsDir: env.jobsDir, nodesDir: env.nodesDir, job: 'report', count: 1, json },
        target: { api: daemon.apiUrl! },
        out: (l) => lines.push(l),
      });
    expect(await next(false)).to.equal(0);
    expect(lines[1]).to.equal(
      '  runs after: dump (success) AND vacuum (done, any host) (a completion older than 12h no longer counts)',
    );
    expect(lines[2]).to.match(/^ {2}round 1 \(the last fired \S+\):$/);
    expect(lines[3]).to.match(/^ {4}dump: completed \S+ \(1\/1 hosts succeeded\)$/);
    expect(lines[4]).to.match(/^ {4}vacuum: waiting \(no completion that counts after \S+\)$/);
    lines.length = 0;
    await next(true);
    expect(JSON.parse(lines[0]!).dependencies.waiting_for).to.deep.equal(['vacuum']);
    expect(runsOf(daemon, 'report')).to.deep.equal([]);
  });

  it('says when the daemon cannot tell the round, and still prints the parents', async () => {
    env.writeNode('local', { roles: ['local'], connection_type: 'local' });
    const job = { policy: { select: 'any', roles: ['local'] }, shell_command: 'true' };
    env.writeJob('dump', job);
    env.writeJob('report', { ...job, after: [{ job: 'dump' }] });
    const lines: string[] = [];
    const code = await runNext({
      ...{ jobsDir: env.jobsDir, nodesDir: env.nodesDir, job: 'report', count: 1, json: false },
      target: { api: 'http://127.0.0.1:1' },
      out: (l) => lines.push(l),
    });
    expect(code).to.equal(0);
    expect(lines[1]).to.contain('runs after: dump (success)');
    expect(lines[2]).to.match(
      /^ {2}round state unknown: client: cannot reach the distcron API at http:\/\/127\.0\.0\.1:1/,
    );
  });
});
