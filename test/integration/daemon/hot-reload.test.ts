import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { waitFor } from '../../harness/daemon-process.js';

/** These use the real watcher and real local processes; a generous wait-for stands in for "within 1 s". */
describe('daemon: hot reload of jobs.d and nodes.d', function () {
  this.timeout(30_000);
  let env: DaemonEnv;

  beforeEach(() => {
    env = new DaemonEnv();
    env.writeNode('local', { roles: ['local'], connection_type: 'local' });
  });
  afterEach(() => env.cleanup());

  const job = (extra: object = {}) => ({
    policy: { select: 'any', roles: ['local'] },
    schedule: '@manual',
    command: ['echo', 'v1'],
    ...extra,
  });

  it('picks up an added job, a changed job and a removed job without a restart', async () => {
    const daemon = await env.start();
    env.writeJob('added', job());
    await waitFor('the added job', () => daemon.control.getJob('added'), 5000);
    env.writeJob('added', job({ schedule: '0 3 * * *' }));
    await waitFor(
      'the changed schedule',
      async () => (await daemon.control.getJob('added'))?.schedule.startsWith('cron 0 3'),
      5000,
    );
    env.removeJob('added');
    await waitFor('the removal', async () => !(await daemon.control.getJob('added')), 5000);
  });

  it('keeps the last good version of a job whose file turns invalid, and reports the file', async () => {
    env.writeJob('steady', job());
    const daemon = await env.start();
    writeFileSync(join(env.jobsDir, 'steady.json'), '{ "policy": ');
    const problem = await waitFor(
      'the reported problem',
      () => daemon.control.configErrors().find((p) => p.file.endsWith('steady.json')),
      5000,
    );
    expect(problem.severity).to.equal('error');
    expect((await daemon.control.getJob('steady'))!.definition.command).to.deep.equal({
      kind: 'argv',
      argv: ['echo', 'v1'],
    });
    const { runIds } = await daemon.control.runJob('steady', {});
    expect(await daemon.control.waitForRun(runIds[0]!)).to.include({ status: 'succeeded', stdout: 'v1\n' });
  });

  it('lets a run finish when its job is removed while it runs', async () => {
    env.writeJob('leaving', job({ command: ['sh', '-c', 'sleep 1; echo finished'] }));
    const daemon = await env.start();
    const { runIds } = await daemon.control.runJob('leaving', {});
    env.removeJob('leaving');
    await waitFor('the removal', async () => !(await daemon.control.getJob('leaving')), 5000);
    expect(await daemon.control.waitForRun(runIds[0]!)).to.include({
      status: 'succeeded',
      stdout: 'finished\n',
    });
  });

  it('reload (SIGHUP) re-reads every file', async () => {
    env.writeJob('sighup', job());
    const daemon = await env.start();
    env.writeJob('sighup', job({ command: ['echo', 'v2'] }));
    await daemon.reload();
    expect((await daemon.control.getJob('sighup'))!.definition.command).to.deep.equal({
      kind: 'argv',
      argv: ['echo', 'v2'],
    });
  });

  it('a job written through the control API is active as soon as the call returns', async () => {
    const daemon = await env.start();
    const result = await daemon.control.putJob('via-api', job({ command: ['echo', 'from api'] }));
    expect(result.ok).to.equal(true);
    const { runIds } = await daemon.control.runJob('via-api', {});
    expect(await daemon.control.waitForRun(runIds[0]!)).to.include({
      status: 'succeeded',
      stdout: 'from api\n',
    });
    expect(await daemon.control.deleteJob('via-api')).to.equal(true);
    expect(await daemon.control.getJob('via-api')).to.equal(undefined);
  });
});
