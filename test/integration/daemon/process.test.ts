import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { DaemonProcess, readRuns, waitFor } from '../../harness/daemon-process.js';
import { localDaemonPerTest } from '../../harness/local-daemon.js';

function markerAlive(marker: string): boolean {
  try {
    execFileSync('pgrep', ['-f', marker]);
    return true;
  } catch {
    return false;
  }
}

describe('daemon process: crashes and signals', function () {
  this.timeout(90_000);
  const local = localDaemonPerTest('distcron-test');

  function start(extra: string[] = []): DaemonProcess {
    return local.spawn(local.env.processArgs(...extra));
  }

  function sleeper(seconds: number, extra: object = {}) {
    // `sh -c '...' marker`: the marker is $0 of the shell, so pgrep -f finds the whole tree.
    return {
      policy: { select: 'any', roles: ['local'] },
      schedule: '* * * * * *',
      command: ['sh', '-c', `sleep ${seconds}; echo done`, local.marker],
      overlap: 'skip',
      catch_up: 'latest',
      ...extra,
    };
  }

  it('after kill -9 mid-run, a restart records the run as lost and never runs its instant again', async () => {
    local.env.writeJob('long', sleeper(300));
    const first = start();
    const running = await waitFor('a running run', () =>
      readRuns(local.env.dbPath, 'long').find((r) => r.status === 'running' && r.started_at),
    );
    first.kill('SIGKILL');
    await first.exited;
    execFileSync('pkill', ['-9', '-f', local.marker]);
    // Same every-second schedule, replaying everything missed: a second run of the lost instant would show.
    local.env.writeJob('long', sleeper(0, { catch_up: 'all', overlap: 'allow' }));

    const second = start();
    const lost = await waitFor('the lost run', () =>
      readRuns(local.env.dbPath, 'long').find((r) => r.id === running.id && r.status === 'lost'),
    );
    expect(lost.error).to.equal('daemon stopped while the run was in flight');
    expect(lost.finished_at).to.be.a('string');
    await waitFor(
      'runs after the restart',
      () => readRuns(local.env.dbPath, 'long').filter((r) => r.status === 'succeeded').length >= 3,
    );
    second.kill('SIGTERM');
    expect(await second.exited).to.deep.equal({ code: 0, signal: null });
    const instants = readRuns(local.env.dbPath, 'long').map((r) => r.scheduled_at);
    expect(instants.filter((t) => t === running.scheduled_at)).to.have.length(1);
    expect(new Set(instants).size).to.equal(instants.length);
  });

  it('SIGTERM lets a running run finish within the shutdown grace, then exits 0', async () => {
    local.env.writeJob('short', sleeper(2));
    const proc = start(['--shutdown-grace', '20s']);
    const running = await waitFor('a running run', () =>
      readRuns(local.env.dbPath, 'short').find((r) => r.status === 'running' && r.started_at),
    );
    proc.kill('SIGTERM');
    expect(await proc.exited).to.deep.equal({ code: 0, signal: null });
    const finished = readRuns(local.env.dbPath, 'short').find((r) => r.id === running.id)!;
    expect(finished).to.include({ status: 'succeeded', stdout: 'done\n' });
    expect(readRuns(local.env.dbPath, 'short').filter((r) => r.status === 'running')).to.deep.equal([]);
  });

  it('SIGTERM cancels what still runs after the grace, records it, kills its processes, exits 0', async () => {
    local.env.writeJob('long', sleeper(300));
    const proc = start(['--shutdown-grace', '1s']);
    const running = await waitFor('a running run', () =>
      readRuns(local.env.dbPath, 'long').find((r) => r.status === 'running' && r.started_at),
    );
    proc.kill('SIGTERM');
    expect(await proc.exited).to.deep.equal({ code: 0, signal: null });
    const cancelled = readRuns(local.env.dbPath, 'long').find((r) => r.id === running.id)!;
    expect(cancelled.status).to.equal('cancelled');
    expect(cancelled.error).to.match(/^cancelled: daemon shutting down/);
    expect(markerAlive(local.marker)).to.equal(false);
  });
});
