import { expect } from 'chai';
import { parseAdhocBody } from '../../../src/config/parse-adhoc.js';
import { ADHOC_JOB, adhocJob, describeCommand, notifiesFor } from '../../../src/daemon/adhoc.js';

describe('ad-hoc command body (the job file parsers)', () => {
  it('gives the policy, the command with run_as, the timeout and the environment', () => {
    const { spec, problems } = parseAdhocBody({
      policy: { select: 'all', roles: ['web'] },
      command: ['uptime'],
      run_as: 'www-data',
      timeout: '30s',
      environment: { LANG: 'C' },
      working_directory: '/srv',
    });
    expect(problems).to.deep.equal([]);
    expect(spec!.policy).to.include({ select: 'all' });
    expect(spec!.policy.roles).to.deep.equal(['web']);
    expect(spec!.command).to.deep.equal({ kind: 'argv', argv: ['uptime'], runAs: 'www-data' });
    expect(spec).to.include({ timeoutMs: 30_000, workingDirectory: '/srv' });
    expect(spec!.environment).to.deep.equal({ LANG: 'C' });
  });

  it('reports errors with the JSON path of the field, and ignores warnings', () => {
    const bad = parseAdhocBody({ policy: { roles: ['web'] }, shell_command: 'x', timeout: 'soon' });
    expect(bad.spec).to.equal(undefined);
    expect(bad.problems.map((p) => p.path)).to.deep.equal(['$.timeout']);
    const warned = parseAdhocBody({
      policy: { select: 'all', roles: ['web'], placement: 'random' },
      command: ['true'],
    });
    expect(warned.problems).to.deep.equal([]);
    expect(parseAdhocBody({ policy: { roles: ['web'] } }).problems[0]!.message).to.match(/missing "command"/);
  });

  it('runs as the job @adhoc: no retries, no owners, no notifications, described by its command', () => {
    const { spec } = parseAdhocBody({
      policy: { hosts: ['a'] },
      command: ['echo', 'a b', 'c'],
      run_as: 'ops',
    });
    const job = adhocJob(spec!);
    expect(job).to.include({
      name: ADHOC_JOB,
      overlap: 'allow',
      description: 'ad-hoc: echo "a b" c (as ops)',
    });
    expect(job.retries.count).to.equal(0);
    expect(job.owners).to.deep.equal([]);
    expect(job.notify.on).to.deep.equal([]);
    expect(describeCommand({ ...spec!, command: { kind: 'shell', script: 'x'.repeat(300) } })).to.have.length(
      200,
    );
    expect(notifiesFor({ trigger: 'adhoc', job: ADHOC_JOB })).to.equal(false);
    expect(notifiesFor({ trigger: 'manual', job: 'backup' })).to.equal(true);
  });
});
