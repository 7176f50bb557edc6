import { expect } from 'chai';
import { Metrics } from '../../../src/core/metrics.js';
import { SshExecutor } from '../../../src/exec/ssh/executor.js';
import type { SshExecutorInput } from '../../../src/exec/ssh/options.js';
import { argv, request, shell, useSshHosts, waitFor } from '../../harness/ssh-fixture.js';

describe('SshExecutor connection pooling against real sshd (MaxSessions 2)', function () {
  this.timeout(40_000);
  const fixture = useSshHosts('ssh pool', { count: 2, maxSessions: 2 });
  const executors: SshExecutor[] = [];

  afterEach(async () => {
    await Promise.all(executors.splice(0).map((e) => e.close()));
  });

  function executor(options: Partial<SshExecutorInput> = {}): SshExecutor {
    const e = new SshExecutor({
      knownHostsFile: fixture.hosts.knownHostsFile,
      resolveNode: () => undefined,
      ...options,
    });
    executors.push(e);
    return e;
  }

  it('reuses one connection for every run on a node', async () => {
    const e = executor();
    for (let i = 0; i < 5; i++) {
      const out = await e.run(fixture.hosts.node(0), request(argv('true')));
      expect(out.status).to.equal('succeeded');
    }
    expect(e.openConnections()).to.equal(1);
  });

  it('runs 10 concurrent commands on a MaxSessions 2 host by opening extra connections', async () => {
    const e = executor();
    const outs = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        e.run(fixture.hosts.node(0), request(shell(`sleep 0.5; echo run-${i}`))),
      ),
    );
    expect(outs.map((o) => o.status)).to.deep.equal(Array(10).fill('succeeded'));
    expect(outs.map((o) => o.stdout)).to.deep.equal(outs.map((_, i) => `run-${i}\n`));
    expect(e.openConnections()).to.be.within(2, 10);
  });

  it('gives extra connections back once they are idle and keeps the main one', async () => {
    const e = executor({ extraIdleTimeoutMs: 200 });
    await Promise.all(
      Array.from({ length: 6 }, () => e.run(fixture.hosts.node(0), request(shell('sleep 0.3')))),
    );
    expect(e.openConnections()).to.be.greaterThan(1);
    await waitFor(() => e.openConnections() === 1, 5000, 'extra connections to close');
  });

  it('closes a connection that stayed idle for idleTimeoutMs', async () => {
    const e = executor({ idleTimeoutMs: 300 });
    await e.run(fixture.hosts.node(0), request(argv('true')));
    expect(e.openConnections()).to.equal(1);
    await waitFor(() => e.openConnections() === 0, 5000, 'the idle connection to close');
    const again = await e.run(fixture.hosts.node(0), request(argv('true')));
    expect(again.status).to.equal('succeeded');
  });

  it('reconnects on the next run after the host sshd restarted', async () => {
    const e = executor();
    expect((await e.run(fixture.hosts.node(1), request(argv('true')))).status).to.equal('succeeded');
    await fixture.hosts.restartHost(1);
    const out = await e.run(fixture.hosts.node(1), request(argv('echo', 'back')));
    expect(out.status, out.error ?? '').to.equal('succeeded');
    expect(out.stdout).to.equal('back\n');
    expect(e.openConnections()).to.equal(1);
  });

  it('records an error, not a hang, when the host dies mid-run', async () => {
    const e = executor({ keepaliveIntervalMs: 500, keepaliveCountMax: 2 });
    const done = e.run(fixture.hosts.node(1), request(argv('sleep', '30')));
    await new Promise((r) => setTimeout(r, 300));
    await fixture.hosts.stopHost(1);
    try {
      const out = await done;
      expect(out.status).to.equal('error');
      expect(out.error).to.match(/connection lost before the command finished/);
    } finally {
      await fixture.hosts.startHost(1);
    }
  });

  it('probes a node up, fails the probe while sshd is down, and succeeds again after', async () => {
    const e = executor({ connectTimeoutMs: 2000 });
    await e.probe(fixture.hosts.node(1));
    await fixture.hosts.stopHost(1);
    try {
      await waitFor(() => e.openConnections() === 0, 5000, 'the dropped connection to leave the pool');
      let failure: Error | null = null;
      await e.probe(fixture.hosts.node(1)).catch((err: Error) => (failure = err));
      expect(failure).to.match(/connection refused/);
    } finally {
      await fixture.hosts.startHost(1);
    }
    await e.probe(fixture.hosts.node(1));
    expect(e.openConnections()).to.equal(1);
  });

  it('keeps the connections gauge equal to the open connections', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const e = executor({ metrics });
    await Promise.all([0, 1].map((i) => e.run(fixture.hosts.node(i), request(argv('true')))));
    const gauge = async () => (await metrics.sshConnectionsOpen.get()).values[0]?.value;
    expect(await gauge()).to.equal(2);
    await e.close();
    expect(await gauge()).to.equal(0);
  });

  it('closes idempotently and refuses runs afterwards with an error outcome', async () => {
    const e = executor();
    await e.run(fixture.hosts.node(0), request(argv('true')));
    await e.close();
    await e.close();
    expect(e.openConnections()).to.equal(0);
    const out = await e.run(fixture.hosts.node(0), request(argv('true')));
    expect(out.status).to.equal('error');
    expect(out.error).to.match(/executor is closed/);
  });

  it('retires old connections when a node definition changes', async () => {
    const e = executor();
    await e.run(fixture.hosts.node(0), request(argv('true')));
    const changed = fixture.hosts.node(0, { hostKey: fixture.hosts.hostKey(0) });
    const out = await e.run(changed, request(argv('true')));
    expect(out.status).to.equal('succeeded');
    await waitFor(() => e.openConnections() === 1, 3000, 'the old connection to close');
  });
});
