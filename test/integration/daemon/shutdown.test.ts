import { expect } from 'chai';
import { readRuns, waitFor } from '../../harness/daemon-process.js';
import { localDaemonPerTest } from '../../harness/local-daemon.js';
import { freePort } from '../../harness/ports.js';

/** SIGTERM on a real daemon process while runs are in flight; outcomes read back from SQLite. */
describe('daemon process: shutdown keeps every outcome', function () {
  this.timeout(90_000);
  const local = localDaemonPerTest('distcron-shutdown');

  it('refuses new manual runs with 503 while draining, then records the cancelled runs before exiting 0', async () => {
    local.env.writeJob('long', {
      policy: { select: 'any', roles: ['local'] },
      schedule: '@manual',
      command: ['sh', '-c', 'sleep 300', local.marker],
    });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const daemon = local.spawn([
      ...['--jobs-dir', local.env.jobsDir, '--nodes-dir', local.env.nodesDir, '--db', local.env.dbPath],
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
      const runs = readRuns(local.env.dbPath, 'long');
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
    const runs = readRuns(local.env.dbPath, 'long');
    expect(runs).to.have.length(2 + acceptedBeforeDrain);
    for (const r of runs) {
      expect(r.status).to.equal('cancelled');
      expect(r.error).to.match(/^cancelled: daemon shutting down/);
    }
  });
});
