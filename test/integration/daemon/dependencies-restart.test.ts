import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { DaemonProcess, readRuns, waitFor } from '../../harness/daemon-process.js';

/** parent_runs as the SQLite file holds it (JSON text), read as an operator would. */
const parentsOf = (run: object) =>
  JSON.parse(String((run as { parent_runs: string }).parent_runs)) as string[];

describe('daemon process: kill -9 between a parent finishing and its child firing', function () {
  this.timeout(120_000);
  let env: DaemonEnv;
  let daemon: DaemonProcess | null = null;

  beforeEach(() => {
    env = new DaemonEnv();
    env.writeNode('here', { roles: ['local'], connection_type: 'local' });
  });

  afterEach(async () => {
    if (daemon && daemon.child.exitCode === null) daemon.kill('SIGKILL');
    await env.cleanup();
  });

  async function start(): Promise<DaemonProcess> {
    daemon = new DaemonProcess(env.processArgs());
    await waitFor('the daemon ready', () => daemon!.log.includes('distcron ready'));
    return daemon;
  }

  async function kill9(d: DaemonProcess): Promise<void> {
    d.kill('SIGKILL');
    await d.exited;
  }

  const childFile = () => join(env.jobsDir, 'child.json');
  const parkedChild = () => join(env.dir, 'child.json.parked');

  it('fires the child exactly once after the restart', async () => {
    env.writeJob('parent', {
      policy: { select: 'any', hosts: ['here'] },
      schedule: { at: new Date(Date.now() + 4000).toISOString() },
      shell_command: 'true',
    });
    env.writeJob('child', {
      policy: { select: 'any', hosts: ['here'] },
      shell_command: 'echo child',
      after: [{ job: 'parent' }],
    });
    // The first daemon records the child's baseline; then the child is out of its config while
    // the parent finishes, so this daemon cannot fire it: the state a kill -9 right after the
    // parent's commit leaves behind.
    const first = await start();
    await waitFor('the child baseline', () => first.log.includes('dependency rounds evaluated'));
    renameSync(childFile(), parkedChild());
    await waitFor('the parent finished', () =>
      readRuns(env.dbPath, 'parent').some((r) => r.status === 'succeeded'),
    );
    await kill9(first);
    expect(readRuns(env.dbPath, 'child')).to.deep.equal([]);
    const [parent] = readRuns(env.dbPath, 'parent');

    renameSync(parkedChild(), childFile());
    const second = await start();
    const [child] = await waitFor('the child fired', () => {
      const runs = readRuns(env.dbPath, 'child').filter((r) => r.status !== 'running');
      return runs.length > 0 ? runs : undefined;
    });
    expect(child!.status).to.equal('succeeded');
    expect(child!.trigger).to.equal('dependency');
    expect(parentsOf(child!)).to.deep.equal([parent!.id]);

    // Killed and restarted again: the round is claimed, nothing fires twice.
    await kill9(second);
    const third = await start();
    await waitFor('the third start evaluated the rounds', () =>
      third.log.includes('dependency rounds evaluated'),
    );
    third.kill('SIGTERM');
    expect(await third.exited).to.deep.equal({ code: 0, signal: null });
    expect(readRuns(env.dbPath, 'child')).to.have.length(1);
  });
});
