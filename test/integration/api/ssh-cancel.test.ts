import { expect } from 'chai';
import { processesWith, useSshHosts } from '../../harness/ssh-fixture.js';
import { ApiDaemon, eventually } from './api-daemon.js';

describe('REST API cancel of a run on a real sshd test host', function () {
  this.timeout(60_000);
  const fixture = useSshHosts('api ssh cancel', { count: 1 });
  const d = new ApiDaemon();
  // A duration unique to this test process: both the shell and the sleep carry it in argv.
  const marker = `sleep 29.${process.pid}`;

  before(async function () {
    const hosts = fixture.hosts;
    d.env.writeNode('h0', {
      roles: ['remote'],
      connection_type: 'ssh',
      connection_options: {
        ssh_host: hosts.hostPort(0),
        ssh_user: hosts.user,
        ssh_private_key_file: hosts.clientKeyFile,
      },
    });
    d.env.writeJob('remote-sleep', {
      policy: { select: 'any', hosts: ['h0'] },
      shell_command: `${marker}; echo never`,
    });
    await d.start({ knownHostsFile: hosts.knownHostsFile });
  });
  after(() => d.cleanup());

  it('kills the whole remote process tree and records the run as cancelled', async () => {
    const api = d.as();
    const id = (await api.post('/api/v1/jobs/remote-sleep/run')).json.run_ids[0];
    await eventually(async () =>
      processesWith(marker).some((p) => /^\d+ sleep /.test(p)) ? true : undefined,
    );
    const cancel = await api.post(`/api/v1/runs/${id}/cancel`);
    expect(cancel.status).to.equal(202);
    const run = await eventually(async () => {
      const reply = await api.get(`/api/v1/runs/${id}`);
      return reply.json.status === 'running' ? undefined : reply.json;
    });
    expect(run).to.include({ status: 'cancelled', node: 'h0' });
    await eventually(async () => (processesWith(marker).length === 0 ? true : undefined), 5_000);
    expect((await api.post(`/api/v1/runs/${id}/cancel`)).status).to.equal(409);
  });
});
