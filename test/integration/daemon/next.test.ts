import { expect } from 'chai';
import { runNext } from '../../../src/cli/next-command.js';
import { DaemonEnv } from '../../harness/daemon-env.js';

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
});
