import { expect } from 'chai';
import type { NodeDef } from '../../../src/core/types.js';
import { SshExecutor } from '../../../src/exec/ssh/executor.js';
import { argv, nodeMap, request, useSshHosts } from '../../harness/ssh-fixture.js';

describe('SshExecutor through an ssh_jump bastion (one test host as the bastion)', function () {
  this.timeout(30_000);
  const fixture = useSshHosts('ssh bastion', { count: 2 });
  let executor: SshExecutor;
  let bastion: NodeDef;
  let target: NodeDef;

  before(function () {
    if (!fixture.hosts) return;
    bastion = fixture.hosts.node(0, {}, 'bastion');
    target = fixture.hosts.node(1, { jump: 'bastion' }, 'inner');
    executor = new SshExecutor({
      knownHostsFile: fixture.hosts.knownHostsFile,
      resolveNode: nodeMap([bastion, target]),
      connectTimeoutMs: 3000,
    });
  });
  after(() => executor?.close());

  it('runs a command on the target through the bastion connection', async () => {
    const out = await executor.run(target, request(argv('sh', '-c', 'echo "$SSH_CONNECTION"')));
    expect(out.status, out.error ?? '').to.equal('succeeded');
    expect(out.host).to.equal(fixture.hosts.hostPort(1));
    // SSH_CONNECTION = client ip, client port, server ip, server port: the target saw its own address.
    expect(out.stdout.trim().split(' ')[2]).to.equal('127.0.0.3');
    expect(executor.openConnections()).to.equal(2);
  });

  it('checks the target host key, not only the bastion one', async () => {
    const wrongPin = fixture.hosts.node(
      1,
      { jump: 'bastion', hostKey: fixture.hosts.hostKey(0) },
      'inner-pinned',
    );
    const out = await executor.run(wrongPin, request(argv('true')));
    expect(out.status).to.equal('error');
    expect(out.error).to.match(/node inner-pinned .*HOST KEY CHANGED/);
  });

  it('fails over the bastion only: with the bastion down the target is unreachable', async () => {
    const fresh = new SshExecutor({
      knownHostsFile: fixture.hosts.knownHostsFile,
      resolveNode: nodeMap([bastion, target]),
      connectTimeoutMs: 3000,
    });
    await fixture.hosts.stopHost(0);
    try {
      const out = await fresh.run(target, request(argv('true')));
      expect(out.status).to.equal('error');
      expect(out.connectFailed).to.equal(true);
      expect(out.error).to.match(/^ssh: node inner .*bastion bastion failed: .*connection refused/);
    } finally {
      await fixture.hosts.startHost(0);
      await fresh.close();
    }
    const back = await executor.run(target, request(argv('true')));
    expect(back.status, back.error ?? '').to.equal('succeeded');
  });

  it('reports a target the bastion cannot reach', async () => {
    const nowhere = fixture.hosts.node(1, { jump: 'bastion', port: 1 }, 'inner-closed');
    const out = await executor.run(nowhere, request(argv('true')));
    expect(out.status).to.equal('error');
    expect(out.connectFailed).to.equal(true);
    expect(out.error).to.match(/node inner-closed .*bastion bastion could not reach it/);
  });
});
