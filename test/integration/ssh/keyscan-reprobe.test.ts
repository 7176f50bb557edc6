import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runKeyscan } from '../../../src/cli/keyscan.js';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { waitFor } from '../../harness/daemon-process.js';
import { useSshHosts } from '../../harness/ssh-fixture.js';

describe('daemon: distcron keyscan brings a node down for its host key back at once', function () {
  this.timeout(60_000);
  const ssh = useSshHosts('keyscan re-probe', { count: 1 });
  let env: DaemonEnv;

  beforeEach(() => (env = new DaemonEnv()));
  afterEach(() => env.cleanup());

  it('re-probes when the known_hosts file changes instead of waiting out the backoff', async () => {
    const hosts = ssh.hosts;
    const known = join(env.dir, 'known_hosts');
    writeFileSync(known, '');
    env.writeNode('h0', {
      roles: ['r'],
      connection_type: 'ssh',
      connection_options: {
        ssh_host: hosts.hostPort(0),
        ssh_user: hosts.user,
        ssh_private_key_file: hosts.clientKeyFile,
      },
    });
    env.writeJob('uname', { policy: { select: 'any', hosts: ['h0'] }, command: ['uname'] });
    // A backoff of an hour: only the known_hosts watch can bring the node back during this test.
    const daemon = await env.start({
      knownHostsFile: known,
      nodeProbeInitialMs: 3_600_000,
      nodeProbeMaxMs: 3_600_000,
      sshConnectTimeoutMs: 5000,
    });
    const first = await daemon.control.runJob('uname', {});
    const refused = await daemon.control.waitForRun(first.runIds[0]!);
    expect(refused.status).to.equal('error');
    expect(refused.error).to.match(/unknown host key/);
    expect((await daemon.control.getNode('h0'))!.health.up).to.equal(false);

    const code = await runKeyscan({
      nodes: [(await daemon.control.getNode('h0'))!.definition],
      knownHostsFile: known,
      connectTimeoutMs: 5000,
      out: { write: () => undefined },
    });
    expect(code).to.equal(0);
    await waitFor(
      'the node to be probed up again',
      async () => (await daemon.control.getNode('h0'))!.health.up,
    );

    const second = await daemon.control.runJob('uname', {});
    const ran = await daemon.control.waitForRun(second.runIds[0]!);
    expect(ran.status, ran.error ?? '').to.equal('succeeded');
  });
});
