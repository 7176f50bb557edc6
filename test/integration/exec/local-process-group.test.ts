import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { groupHasLiveMembers, reapPollDelayMs, signalGroup } from '../../../src/exec/process-group.js';
import { waitFor } from './local-support.js';

function detached(script: string): ChildProcess {
  return spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
}

const exited = (child: ChildProcess) => new Promise((resolve) => child.once('exit', resolve));

describe('process groups', () => {
  it('a group with a running process is alive; after SIGKILL to the group it is not', async () => {
    const child = detached('sleep 30 & sleep 30; wait');
    await new Promise((resolve) => child.once('spawn', resolve));
    expect(groupHasLiveMembers(child.pid!)).to.equal(true);
    expect(signalGroup(child.pid!, 'SIGKILL')).to.equal(true);
    await exited(child);
    await waitFor(() => !groupHasLiveMembers(child.pid!), 'the group to die');
  });

  it('a zombie left in the group does not count as alive', async () => {
    // `true` ends at once, and its parent (now `sleep` through exec) never reaps it: a zombie.
    const child = detached('true & exec sleep 30');
    await new Promise((resolve) => child.once('spawn', resolve));
    await waitFor(() => zombiesIn(child.pid!) === 1, 'the zombie');
    expect(groupHasLiveMembers(child.pid!)).to.equal(true); // the sleep
    process.kill(child.pid!, 'SIGKILL');
    await exited(child);
    await waitFor(() => !groupHasLiveMembers(child.pid!), 'only the zombie to be left, or nothing');
  });

  it('backs off between checks while a group is killed: 25 ms doubling to at most 1 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 50].map(reapPollDelayMs)).to.deep.equal([
      25, 50, 100, 200, 400, 800, 1000, 1000, 1000,
    ]);
  });

  it('signalling a group that does not exist reports false instead of throwing', () => {
    expect(signalGroup(2 ** 22 - 1, 'SIGTERM')).to.equal(false);
    expect(groupHasLiveMembers(2 ** 22 - 1)).to.equal(false);
  });
});

/** Zombies (ps state "Z") among the processes of group `pgid`. */
function zombiesIn(pgid: number): number {
  const out = execFileSync('ps', ['-e', '-o', 'pgid=,stat='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim().startsWith(`${pgid} `) && /\bZ/.test(l)).length;
}
