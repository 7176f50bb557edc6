import { expect } from 'chai';
import type { RunRecord } from '../../../src/core/types.js';
import type { Daemon } from '../../../src/daemon/daemon.js';
import { DaemonEnv, runsOf } from '../../harness/daemon-env.js';
import { waitFor } from '../../harness/daemon-process.js';
import { useSshHosts } from '../../harness/ssh-fixture.js';

const HOSTS = 4;
/** Exits with $EXIT (a parameter, default 0): one job file serves a succeeding and a failing parent. */
const EXITS = { parameters: { EXIT: { default: '0', pattern: '^[0-9]+$' } }, shell_command: 'exit "$EXIT"' };

describe('daemon: job dependencies on real sshd hosts (SQLite file)', function () {
  this.timeout(120_000);
  const fixture = useSshHosts('daemon job dependencies', { count: HOSTS });
  const env = new DaemonEnv();
  let daemon: Daemon;

  const any = (hosts: string[]) => ({ policy: { select: 'any', hosts } });
  const manual = { schedule: '@manual' };

  before(async function () {
    const hosts = fixture.hosts;
    for (let i = 0; i < HOSTS; i++)
      env.writeNode(`h${i}`, {
        roles: ['fleet'],
        connection_type: 'ssh',
        connection_options: {
          ssh_host: hosts.hostPort(i),
          ssh_user: hosts.user,
          ssh_private_key_file: hosts.clientKeyFile,
        },
      });
    // A → B on success, A → C on failure.
    env.writeJob('a', { ...any(['h0']), ...manual, ...EXITS });
    env.writeJob('b', { ...any(['h1']), shell_command: 'true', after: [{ job: 'a' }] });
    env.writeJob('c', { ...any(['h2']), shell_command: 'true', after: [{ job: 'a', on: 'failure' }] });
    // Fan-in: D after P1 and P2 (whatever their outcome).
    env.writeJob('p1', { ...any(['h0']), ...manual, shell_command: 'true' });
    env.writeJob('p2', { ...any(['h1']), ...manual, ...EXITS });
    env.writeJob('d', {
      ...any(['h3']),
      shell_command: 'true',
      after: [
        { job: 'p1', on: 'done' },
        { job: 'p2', on: 'done' },
      ],
    });
    // An `all` parent on 4 hosts whose last host fails.
    const failing = hosts.host(HOSTS - 1).address;
    env.writeJob('fan', {
      policy: { select: 'all', roles: ['fleet'] },
      ...manual,
      shell_command: `case " $SSH_CONNECTION " in *" ${failing} "*) exit 3;; esac`,
    });
    const child = (after: object) => ({ ...any(['h0']), shell_command: 'true', after: [after] });
    env.writeJob('strict', child({ job: 'fan' }));
    env.writeJob('lenient', child({ job: 'fan', hosts: 'any' }));
    env.writeJob('cleanup', child({ job: 'fan', on: 'failure' }));
    daemon = await env.start({ knownHostsFile: hosts.knownHostsFile });
  });
  after(() => env.cleanup());

  /** Runs `job` by hand until every run is final; `exit` for the jobs that take EXIT. */
  async function runParent(job: string, exit?: string): Promise<RunRecord[]> {
    const parameters = exit === undefined ? {} : { EXIT: exit };
    const { runIds } = await daemon.control.runJob(job, { parameters });
    return Promise.all(runIds.map((id) => daemon.control.waitForRun(id)));
  }

  /** The job's dependency runs once `count` of them are final. */
  function dependencyRuns(job: string, count: number): Promise<RunRecord[]> {
    return waitFor(`${count} final dependency runs of ${job}`, () => {
      const runs = runsOf(daemon, job).filter((r) => r.trigger === 'dependency' && r.status !== 'running');
      return runs.length >= count ? runs : undefined;
    });
  }

  it('runs B after A succeeds and C after A fails, each recording the parent run that completed its round', async () => {
    const [ok1] = await runParent('a', '0');
    const [b1] = await dependencyRuns('b', 1);
    expect(b1!.status, b1!.error ?? b1!.stderr).to.equal('succeeded');
    expect(b1!.parentRuns).to.deep.equal([ok1!.id]);
    expect(b1!.scheduled_at).to.equal(null);

    const [failed] = await runParent('a', '1');
    expect(failed!.status).to.equal('failed');
    const [c1] = await dependencyRuns('c', 1);
    expect(c1!.parentRuns).to.deep.equal([failed!.id]);

    // A failure completes no round of B: its next run is the next success's.
    const [ok2] = await runParent('a', '0');
    const bRuns = await dependencyRuns('b', 2);
    expect(bRuns.map((r) => r.parentRuns)).to.deep.equal([[ok1!.id], [ok2!.id]]);
    expect(runsOf(daemon, 'c')).to.have.length(1);
  });

  it('fires the fan-in D once per round, after the later of its two parents', async () => {
    const [p1] = await runParent('p1');
    const waiting = await daemon.control.jobDependencies('d');
    expect(waiting?.waitingFor).to.deep.equal(['p2']);
    expect(waiting?.parents[0]?.completion?.runIds).to.deep.equal([p1!.id]);
    const [p2] = await runParent('p2', '1');
    const [d1] = await dependencyRuns('d', 1);
    expect(d1!.parentRuns).to.deep.equal([p1!.id, p2!.id]);
    expect(Date.parse(d1!.started_at!)).to.be.at.least(Date.parse(p2!.finished_at!));

    // P2 twice, then P1: one more round only, with the latest completion of each.
    await runParent('p2');
    const [p2again] = await runParent('p2');
    expect((await daemon.control.jobDependencies('d'))?.waitingFor).to.deep.equal(['p1']);
    const [p1again] = await runParent('p1');
    const dRuns = await dependencyRuns('d', 2);
    expect(dRuns).to.have.length(2);
    expect(dRuns[1]!.parentRuns).to.deep.equal([p1again!.id, p2again!.id]);
    expect((await daemon.control.jobDependencies('d'))?.round).to.equal(3);
  });

  it('waits for every host of an `all` parent: one host failing fires the `any` and the failure children, not the strict one', async () => {
    const fanRuns = await runParent('fan');
    expect(fanRuns.map((r) => r.status).sort()).to.deep.equal([
      'failed',
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    const [lenient] = await dependencyRuns('lenient', 1);
    const [cleanup] = await dependencyRuns('cleanup', 1);
    const ids = fanRuns.map((r) => r.id).sort();
    expect([...lenient!.parentRuns!].sort()).to.deep.equal(ids);
    expect([...cleanup!.parentRuns!].sort()).to.deep.equal(ids);
    const strict = await daemon.control.jobDependencies('strict');
    expect(strict?.waitingFor).to.deep.equal(['fan']);
    expect(strict?.round).to.equal(1);
    expect(runsOf(daemon, 'strict')).to.deep.equal([]);
    const fan = await daemon.control.getJob('fan');
    expect(fan?.children).to.deep.equal(['cleanup', 'lenient', 'strict']);
  });

  it('runs only the child when the child is run by hand', async () => {
    const before = runsOf(daemon, 'strict').length;
    const { runIds } = await daemon.control.runJob('strict', {});
    const run = await daemon.control.waitForRun(runIds[0]!);
    expect(run.trigger).to.equal('manual');
    expect(run.parentRuns).to.equal(null);
    expect(runsOf(daemon, 'strict')).to.have.length(before + 1);
  });
});

describe('daemon: bad job dependencies are load errors that affect nothing else', function () {
  this.timeout(60_000);
  const env = new DaemonEnv();
  let daemon: Daemon;
  const job = (after?: object[]) => ({
    policy: { select: 'any', hosts: ['here'] },
    schedule: '@manual',
    shell_command: 'true',
    ...(after ? { after } : {}),
  });

  before(async () => {
    env.writeNode('here', { roles: ['local'], connection_type: 'local' });
    env.writeJob('ok', job());
    env.writeJob('after-ok', job([{ job: 'ok' }]));
    env.writeJob('cy1', job([{ job: 'cy3' }]));
    env.writeJob('cy2', job([{ job: 'cy1' }]));
    env.writeJob('cy3', job([{ job: 'cy2' }]));
    env.writeJob('orphan', job([{ job: 'nope' }]));
    env.writeJob('narcissus', job([{ job: 'narcissus' }]));
    daemon = await env.start();
  });
  after(() => env.cleanup());

  const errorsOf = (name: string) =>
    daemon.control.configErrors().filter((p) => p.file.endsWith(`/jobs.d/${name}.json`));

  it('names the file, the JSON path and what to do for a cycle of three, an unknown parent and a self-reference', () => {
    for (const name of ['cy1', 'cy2', 'cy3']) {
      const [problem, ...more] = errorsOf(name);
      expect(more).to.deep.equal([]);
      expect(problem).to.deep.include({ path: '$.after[0].job', severity: 'error' });
      expect(problem!.message).to.contain('forms a cycle (cy1 after cy3 after cy2 after cy1)');
    }
    expect(errorsOf('orphan')[0]?.message).to.match(/no job "nope" exists; add jobs\.d\/nope\.json/);
    expect(errorsOf('narcissus')[0]?.message).to.contain('cannot run after itself');
    expect(daemon.control.configErrors()).to.have.length(5);
  });

  it('loads and runs everything else', async () => {
    const names = daemon.control.jobDefinitions().map((j) => j.name);
    expect([...names].sort()).to.deep.equal(['after-ok', 'ok']);
    const { runIds } = await daemon.control.runJob('ok', {});
    const parent = await daemon.control.waitForRun(runIds[0]!);
    const [child] = await waitFor('the child of ok', () => {
      const runs = runsOf(daemon, 'after-ok').filter((r) => r.status !== 'running');
      return runs.length > 0 ? runs : undefined;
    });
    expect(child!.parentRuns).to.deep.equal([parent.id]);
  });

  it('applies the overlap policy to a dependency fire: a round while the child still runs is a skipped run', async () => {
    env.writeJob('slow-child', { ...job([{ job: 'ok' }]), shell_command: 'sleep 3', overlap: 'skip' });
    await daemon.reload();
    const runParent = async () => {
      const { runIds } = await daemon.control.runJob('ok', {});
      return daemon.control.waitForRun(runIds[0]!);
    };
    const first = await runParent();
    await waitFor('the slow child running', () =>
      runsOf(daemon, 'slow-child').some((r) => r.status === 'running' && r.started_at !== null),
    );
    const second = await runParent();
    const [skipped] = await waitFor('the skipped round', () => {
      const runs = runsOf(daemon, 'slow-child').filter((r) => r.status === 'skipped');
      return runs.length > 0 ? runs : undefined;
    });
    expect(skipped).to.deep.include({
      trigger: 'dependency',
      error: 'previous run still running (overlap: skip)',
    });
    expect(skipped!.parentRuns).to.deep.equal([second.id]);
    const ran = runsOf(daemon, 'slow-child').find((r) => r.status !== 'skipped');
    expect(ran!.parentRuns).to.deep.equal([first.id]);
  });

  it('keeps the last good version of a job whose edit closes a cycle', async () => {
    env.writeJob('ok', job([{ job: 'after-ok' }]));
    await daemon.reload();
    expect(errorsOf('ok')[0]?.message).to.contain('forms a cycle (after-ok after ok after after-ok)');
    expect((await daemon.control.getJob('ok'))?.definition.after).to.equal(undefined);
    expect((await daemon.control.getJob('after-ok'))?.definition.after?.parents[0]?.job).to.equal('ok');
  });
});
