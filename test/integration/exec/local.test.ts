import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../src/core/clock.js';
import { LocalExecutor } from '../../../src/exec/local.js';
import { argv, LOCAL_NODE, request, shell } from './local-support.js';

const PWNED = '/tmp/distcron-local-pwned';

const HOSTILE = [
  "it's",
  'say "hi"',
  `$(touch ${PWNED})`,
  `\`touch ${PWNED}\``,
  'a; touch /tmp/distcron-local-pwned',
  'line1\nline2\n',
  'tab\there',
  'üñíçødé 漢字 🚀',
  '',
  ' ',
  '\\',
  '$HOME',
  '*',
  '--inspect',
  '-e',
];

describe('LocalExecutor: running commands', function () {
  let dir: string;
  let printArgv: string;
  const executor = new LocalExecutor();

  before(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'distcron-local-')));
    printArgv = join(dir, 'print-argv.cjs');
    writeFileSync(printArgv, 'process.stdout.write(JSON.stringify(process.argv.slice(2)))');
  });
  after(async () => {
    await executor.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes hostile argv words to the program intact, without a shell', async () => {
    const outcome = await executor.run(LOCAL_NODE, request(argv(process.execPath, printArgv, ...HOSTILE)));
    expect(outcome.status).to.equal('succeeded');
    expect(JSON.parse(outcome.stdout)).to.deep.equal(HOSTILE);
    expect(existsSync(PWNED)).to.equal(false);
  });

  it('runs a shell command through /bin/sh -c', async () => {
    const outcome = await executor.run(
      LOCAL_NODE,
      request(shell('echo "$GREETING" | tr a-z A-Z; echo oops >&2'), {
        environment: { GREETING: 'hi there' },
      }),
    );
    expect(outcome).to.include({ status: 'succeeded', exitCode: 0, stdout: 'HI THERE\n', stderr: 'oops\n' });
  });

  it("gives the job's environment on top of the daemon's, keeping PATH", async () => {
    const local = new LocalExecutor({ baseEnv: { PATH: process.env.PATH!, KEEP: 'base', OVER: 'base' } });
    const script = 'printf "%s|" "$KEEP" "$OVER" "$NEW" "$PATH"';
    const outcome = await local.run(
      LOCAL_NODE,
      request(shell(script), { environment: { OVER: 'job', NEW: 'a b' } }),
    );
    expect(outcome.stdout).to.equal(`base|job|a b|${process.env.PATH}|`);
    await local.close();
  });

  it("never hands the daemon's own environment to a job, only the fixed base set", async () => {
    process.env.DISTCRON_LOCAL_TEST_SECRET = 'from the daemon';
    const local = new LocalExecutor();
    try {
      const outcome = await local.run(LOCAL_NODE, request(argv('env')));
      expect(outcome.status).to.equal('succeeded');
      expect(outcome.stdout).not.to.include('from the daemon');
      const names = outcome.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.slice(0, l.indexOf('=')));
      expect(names).to.include.members(['PATH', 'HOME', 'SHELL', 'LANG']);
      const base = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'TZ'];
      expect(names.filter((n) => !base.includes(n))).to.deep.equal([]);
    } finally {
      delete process.env.DISTCRON_LOCAL_TEST_SECRET;
      await local.close();
    }
  });

  it('lets a run with a 30-day timeout run (a timer past 24.8 days would fire at once)', async () => {
    const outcome = await executor.run(
      LOCAL_NODE,
      request(shell('sleep 2; echo finished'), { timeoutMs: 30 * 86_400_000 }),
    );
    expect(outcome).to.include({ status: 'succeeded', stdout: 'finished\n', error: null });
  });

  it('passes empty arguments through intact', async () => {
    const outcome = await executor.run(
      LOCAL_NODE,
      request(argv(process.execPath, printArgv, '', '-N', '', 'k')),
    );
    expect(JSON.parse(outcome.stdout)).to.deep.equal(['', '-N', '', 'k']);
  });

  it('runs in the working directory', async () => {
    const cwd = join(dir, "work dir 'x'");
    mkdirSync(cwd);
    const outcome = await executor.run(LOCAL_NODE, request(argv('pwd'), { workingDirectory: cwd }));
    expect(outcome.stdout).to.equal(`${cwd}\n`);
  });

  for (const code of [0, 1, 42]) {
    it(`records exit code ${code} and ${code === 0 ? 'succeeds' : 'fails'}`, async () => {
      const outcome = await executor.run(LOCAL_NODE, request(shell(`exit ${code}`)));
      expect(outcome).to.include({ exitCode: code, signal: null, error: null });
      expect(outcome.status).to.equal(code === 0 ? 'succeeded' : 'failed');
    });
  }

  it('records the signal that killed the command, and fails', async () => {
    const outcome = await executor.run(LOCAL_NODE, request(shell('kill -USR1 $$')));
    expect(outcome).to.include({ status: 'failed', exitCode: null, signal: 'SIGUSR1' });
  });

  it('gives the command a closed stdin, so a reader ends at once', async () => {
    const outcome = await executor.run(LOCAL_NODE, request(argv('cat')));
    expect(outcome).to.include({ status: 'succeeded', stdout: '' });
  });

  it('runs the command in a process group of its own', async () => {
    const own = await executor.run(LOCAL_NODE, request(shell('ps -o pid=,pgid=,sid= -p $$')));
    const [pid, pgid, sid] = own.stdout.trim().split(/\s+/);
    expect(pgid).to.equal(pid);
    expect(sid).to.equal(pid);
  });

  it('reports a missing program as an error naming it, without crashing', async () => {
    const outcome = await executor.run(LOCAL_NODE, request(argv('distcron-no-such-program', 'x')));
    expect(outcome).to.include({ status: 'error', startedAt: null, connectFailed: false });
    expect(outcome.error).to.include('command not found: distcron-no-such-program');
  });

  it('reports a program that is not executable as an error', async () => {
    const file = join(dir, 'not-executable.sh');
    writeFileSync(file, '#!/bin/sh\n', { mode: 0o644 });
    const outcome = await executor.run(LOCAL_NODE, request(argv(file)));
    expect(outcome.status).to.equal('error');
    expect(outcome.error).to.include('permission denied');
  });

  it('reports a missing working directory as an error naming it, without running anything', async () => {
    const outcome = await executor.run(
      LOCAL_NODE,
      request(shell(`touch ${PWNED}`), { workingDirectory: join(dir, 'missing') }),
    );
    expect(outcome.status).to.equal('error');
    expect(outcome.error).to.equal(
      `local: working directory ${join(dir, 'missing')} does not exist; create it or fix working_directory`,
    );
    expect(existsSync(PWNED)).to.equal(false);
  });

  it('reports an empty argv and a NUL byte as errors instead of throwing', async () => {
    expect((await executor.run(LOCAL_NODE, request(argv()))).error).to.match(/local: the command is empty/);
    expect((await executor.run(LOCAL_NODE, request(argv('echo', 'a\0b')))).error).to.match(/NUL byte/);
    const badEnv = await executor.run(LOCAL_NODE, request(argv('true'), { environment: { 'A=B': 'x' } }));
    expect(badEnv.error).to.match(/invalid environment variable name/);
  });

  it('calls onStart once with the clock time and this host, and stamps the outcome from the clock', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const local = new LocalExecutor({ clock });
    const starts: [number, string | null][] = [];
    const outcome = await local.run(
      LOCAL_NODE,
      request(argv('true'), { onStart: (at, host) => starts.push([at, host]) }),
    );
    expect(starts).to.deep.equal([[1_700_000_000_000, hostname()]]);
    expect(outcome).to.include({
      startedAt: 1_700_000_000_000,
      finishedAt: 1_700_000_000_000,
      host: hostname(),
    });
    await local.close();
  });

  it('does not call onStart when the command never starts', async () => {
    let calls = 0;
    await executor.run(LOCAL_NODE, request(argv('distcron-no-such-program'), { onStart: () => calls++ }));
    expect(calls).to.equal(0);
  });

  it('probes as reachable', async () => {
    await executor.probe(LOCAL_NODE);
  });
});
