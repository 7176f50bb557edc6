import { expect } from 'chai';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_USER_HOME } from '../../harness/ssh-setup.js';
import { SshExecutor } from '../../../src/exec/ssh/executor.js';
import { argv, processesWith, request, shell, useSshHosts, waitFor } from '../../harness/ssh-fixture.js';

/** The remote side is this same machine: the test user runs the node binary running this test. */
const NODE = process.execPath;
const PRINT_ARGV = 'process.stdout.write(JSON.stringify(process.argv.slice(1)))';
const PWNED = `/tmp/distcron-pwned-${process.pid}`;
const HOSTILE = [
  "it's",
  'say "hi"',
  `$(touch ${PWNED})`,
  `\`touch ${PWNED}\``,
  'a; echo injected',
  'line1\nline2\n',
  'tab\there',
  'ünïcødé ✓ 日本語 🚀',
  '',
  ' leading and trailing ',
  '*',
  '$HOME ${IFS} $$',
  '\\back\\slash\\',
  "'",
  '"',
  '--',
  '-n',
  '!x && exit 9 || true',
  '#not a comment',
  `a'"\`$\\b`,
];

describe('SshExecutor running commands on a real sshd', function () {
  this.timeout(30_000);
  const fixture = useSshHosts('ssh exec', { count: 1 });
  let executor: SshExecutor;

  before(function () {
    if (!fixture.hosts) return;
    executor = new SshExecutor({
      knownHostsFile: fixture.hosts.knownHostsFile,
      resolveNode: () => undefined,
      killGraceMs: 300,
    });
  });
  after(() => executor?.close());

  it('delivers hostile argv words to the remote process byte for byte', async () => {
    const out = await executor.run(fixture.hosts.node(0), request(argv(NODE, '-e', PRINT_ARGV, ...HOSTILE)));
    expect(out.status, out.error ?? out.stderr).to.equal('succeeded');
    expect(JSON.parse(out.stdout)).to.deep.equal(HOSTILE);
    expect(existsSync(PWNED)).to.equal(false);
  });

  it('runs a hostile shell_command exactly as written', async () => {
    const text = HOSTILE.join('\n');
    const out = await executor.run(
      fixture.hosts.node(0),
      request(shell(`cat <<'DISTCRON_EOF'\n${text}\nDISTCRON_EOF`)),
    );
    expect(out.status, out.stderr).to.equal('succeeded');
    expect(out.stdout).to.equal(text + '\n');
    expect(existsSync(PWNED)).to.equal(false);
  });

  it('passes hostile environment values inline and honours the working directory', async () => {
    const value = HOSTILE.join('|');
    const req = request(argv(NODE, '-e', 'process.stdout.write(process.cwd() + "\\n" + process.env.V)'), {
      environment: { V: value },
      workingDirectory: '/usr/share',
    });
    const out = await executor.run(fixture.hosts.node(0), req);
    expect(out.stdout).to.equal(`/usr/share\n${value}`);
  });

  it('passes empty arguments intact (ssh-keygen -N "")', async () => {
    const out = await executor.run(
      fixture.hosts.node(0),
      request(argv(NODE, '-e', PRINT_ARGV, '', '-N', '', '-f', 'k', '')),
    );
    expect(out.status, out.stderr).to.equal('succeeded');
    expect(JSON.parse(out.stdout)).to.deep.equal(['', '-N', '', '-f', 'k', '']);
  });

  it('changes into a relative working directory that starts with "-" (cd --, not an option)', async () => {
    const name = `-distcron-cd-${process.pid}`;
    const target = join(TEST_USER_HOME, name);
    mkdirSync(target, { mode: 0o755 });
    try {
      const out = await executor.run(fixture.hosts.node(0), request(argv('pwd'), { workingDirectory: name }));
      expect(out.status, out.stderr).to.equal('succeeded');
      expect(out.stdout).to.equal(`${target}\n`);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });

  it('captures stdout and stderr separately', async () => {
    const out = await executor.run(
      fixture.hosts.node(0),
      request(shell('echo out; echo err >&2; echo out2')),
    );
    expect(out.stdout).to.equal('out\nout2\n');
    expect(out.stderr).to.equal('err\n');
  });

  for (const code of [0, 1, 42, 255]) {
    it(`records exit code ${code} exactly`, async () => {
      const out = await executor.run(fixture.hosts.node(0), request(shell(`exit ${code}`)));
      expect(out.exitCode).to.equal(code);
      expect(out.signal).to.equal(null);
      expect(out.status).to.equal(code === 0 ? 'succeeded' : 'failed');
    });
  }

  for (const sig of ['TERM', 'KILL', 'SEGV']) {
    it(`records a command killed by SIG${sig} as that signal`, async () => {
      const out = await executor.run(fixture.hosts.node(0), request(shell(`kill -${sig} $$`)));
      expect(out.status).to.equal('failed');
      expect(out.signal).to.equal(`SIG${sig}`);
      expect(out.exitCode).to.equal(null);
    });
  }

  it('reports the start time and host through onStart', async () => {
    let seen: { at: number; host: string | null } | null = null;
    const out = await executor.run(
      fixture.hosts.node(0),
      request(argv('true'), { onStart: (at, host) => (seen = { at, host }) }),
    );
    expect(seen).to.deep.equal({ at: out.startedAt, host: fixture.hosts.hostPort(0) });
  });

  it('kills the whole remote process tree when the run times out', async () => {
    const marker = `${Date.now() % 100000}.${process.pid}${Math.floor(Math.random() * 1000)}`;
    const script = `(sleep 911${marker} & sleep 912${marker}; echo never) & sleep 913${marker}`;
    const done = executor.run(fixture.hosts.node(0), request(shell(script), { timeoutMs: 1500 }));
    await waitFor(() => processesWith(marker).length >= 3, 5000, 'the three sleeps to start');
    const out = await done;
    expect(out.status).to.equal('timed_out');
    expect(out.error).to.match(/timed out after 1500 ms/);
    expect(processesWith(marker)).to.deep.equal([]);
  });

  it('kills the whole remote process tree when the run is cancelled', async () => {
    const marker = `${Date.now() % 100000}.${process.pid}${Math.floor(Math.random() * 1000)}`;
    const abort = new AbortController();
    const script = `sleep 921${marker} & (sleep 922${marker} &) ; sleep 923${marker}`;
    const done = executor.run(fixture.hosts.node(0), request(shell(script), { signal: abort.signal }));
    await waitFor(() => processesWith(marker).length >= 3, 5000, 'the three sleeps to start');
    abort.abort();
    const out = await done;
    expect(out.status).to.equal('cancelled');
    expect(processesWith(marker)).to.deep.equal([]);
  });

  it('keeps binary garbage output without failing the run', async () => {
    const out = await executor.run(
      fixture.hosts.node(0),
      request(shell('head -c 200000 /dev/urandom; head -c 5000 /dev/urandom >&2')),
    );
    expect(out.status).to.equal('succeeded');
    expect(out.stdout.length).to.be.greaterThan(100_000);
    expect(out.stderr.length).to.be.greaterThan(1000);
  });

  it('caps each stream and keeps the head and the end of a huge output', async () => {
    const script = 'echo HEAD; head -c 3000000 /dev/zero | tr "\\0" x; echo; echo TAIL';
    const out = await executor.run(
      fixture.hosts.node(0),
      request(shell(script), { outputLimitBytes: 64 * 1024 }),
    );
    expect(out.status).to.equal('succeeded');
    expect(out.outputTruncated).to.equal(true);
    expect(out.stdout.startsWith('HEAD\n')).to.equal(true);
    expect(out.stdout.endsWith('TAIL\n')).to.equal(true);
    expect(out.stdout.length).to.be.lessThan(70 * 1024);
  });
});
