import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { DaemonProcess, readRuns, waitFor } from '../../harness/daemon-process.js';
import { freePort } from '../../harness/ports.js';

/** SIGTERM on a real daemon process while runs are in flight; outcomes read back from SQLite. */
describe('daemon process: shutdown keeps every outcome', function () {
  this.timeout(90_000);
  let env: DaemonEnv;
  let daemon: DaemonProcess | null = null;
  let marker: string;

  beforeEach(() => {
    env = new DaemonEnv();
    env.writeNode('local', { roles: ['local'], connection_type: 'local' });
    marker = `distcron-shutdown-${process.pid}-${Date.now()}`;
  });
  afterEach(async () => {
    if (daemon && daemon.child.exitCode === null) daemon.kill('SIGKILL');
    try {
      execFileSync('pkill', ['-9', '-f', marker]);
    } catch {
      // nothing left, as it should be
    }
    await env.cleanup();
  });

  it('refuses new manual runs with 503 while draining, then records the cancelled runs before exiting 0', async () => {
    env.writeJob('long', {
      policy: { select: 'any', roles: ['local'] },
      schedule: '@manual',
      command: ['sh', '-c', 'sleep 300', marker],
    });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    daemon = new DaemonProcess([
      ...['--jobs-dir', env.jobsDir, '--nodes-dir', env.nodesDir, '--db', env.dbPath],
      ...['--listen', `127.0.0.1:${port}`, '--timezone', 'UTC', '--shutdown-grace', '4s'],
    ]);
    const run = () =>
      fetch(`${url}/api/v1/jobs/long/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
    for (;;) {
      const up = await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited:\n${daemon.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let i = 0; i < 2; i++) expect((await run()).status).to.equal(202);
    await waitFor('two started runs', () => {
      const runs = readRuns(env.dbPath, 'long');
      return runs.length === 2 && runs.every((r) => r.status === 'running' && r.started_at);
    });

    daemon.kill('SIGTERM');
    // The API stays up while the runs drain: a new run is refused, not accepted and lost. A request
    // the daemon served before it handled the signal is an ordinary run, recorded like the others.
    let refused: Response | undefined;
    let acceptedBeforeDrain = 0;
    for (let i = 0; i < 200 && !refused; i++) {
      const reply = await run();
      if (reply.status === 503) refused = reply;
      else {
        expect(reply.status).to.equal(202);
        acceptedBeforeDrain++;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    expect(refused?.status).to.equal(503);
    expect(JSON.stringify(await refused!.json())).to.match(/shutting down/);

    expect(await daemon.exited).to.deep.equal({ code: 0, signal: null });
    const runs = readRuns(env.dbPath, 'long');
    expect(runs).to.have.length(2 + acceptedBeforeDrain);
    for (const r of runs) {
      expect(r.status).to.equal('cancelled');
      expect(r.error).to.match(/^cancelled: daemon shutting down/);
    }
  });
});
