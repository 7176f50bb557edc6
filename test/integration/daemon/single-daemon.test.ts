import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { DaemonProcess, readRuns, waitFor } from '../../harness/daemon-process.js';

/** Two real daemon processes on one SQLite file: the second refuses, naming the first. */
describe('daemon process: one daemon per database', function () {
  this.timeout(90_000);
  let env: DaemonEnv;
  const procs: DaemonProcess[] = [];
  let marker: string;

  beforeEach(() => {
    env = new DaemonEnv();
    env.writeNode('local', { roles: ['local'], connection_type: 'local' });
    marker = `distcron-single-${process.pid}-${Date.now()}`;
    env.writeJob('long', {
      policy: { select: 'any', roles: ['local'] },
      schedule: '* * * * * *',
      overlap: 'skip',
      command: ['sh', '-c', 'sleep 300', marker],
    });
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) if (p.child.exitCode === null) p.kill('SIGKILL');
    try {
      execFileSync('pkill', ['-9', '-f', marker]);
    } catch {
      // nothing left
    }
    await env.cleanup();
  });

  const start = () => {
    const proc = new DaemonProcess([
      ...['--jobs-dir', env.jobsDir, '--nodes-dir', env.nodesDir, '--db', env.dbPath],
      ...['--listen', 'off', '--timezone', 'UTC', '--shutdown-grace', '1s'],
    ]);
    procs.push(proc);
    return proc;
  };

  it('refuses to start a second daemon, naming the holder, and leaves the first one’s runs alone', async () => {
    const first = start();
    const running = await waitFor('a running run', () =>
      readRuns(env.dbPath, 'long').find((r) => r.status === 'running' && r.started_at),
    );

    const second = start();
    const exit = await second.exited;
    expect(exit.code).to.equal(1);
    expect(second.log).to.include(`another distcron daemon is using the database ${env.dbPath}`);
    expect(second.log).to.include(`pid ${first.child.pid} on host ${hostname()}`);
    expect(second.log).to.match(/started \d{4}-\d\d-\d\dT/);
    expect(readRuns(env.dbPath, 'long').find((r) => r.id === running.id)!.status).to.equal('running');
    expect(readRuns(env.dbPath, 'long').filter((r) => r.status === 'lost')).to.deep.equal([]);
    expect(first.child.exitCode).to.equal(null);
  });

  it('after kill -9 of the holder the lock is free: the next daemon starts and records the run lost', async () => {
    const first = start();
    const running = await waitFor('a running run', () =>
      readRuns(env.dbPath, 'long').find((r) => r.status === 'running' && r.started_at),
    );
    first.kill('SIGKILL');
    await first.exited;
    const next = start();
    await waitFor('the lost run', () =>
      readRuns(env.dbPath, 'long').find((r) => r.id === running.id && r.status === 'lost'),
    );
    expect(next.child.exitCode).to.equal(null);
    next.kill('SIGTERM');
    expect((await next.exited).code).to.equal(0);
  });
});
