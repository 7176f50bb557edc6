import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import type { CommandSpec } from '../../../src/core/types.js';
import { sha256Hex, shebangInterpreter } from '../../../src/exec/script.js';
import { SshExecutor } from '../../../src/exec/ssh/executor.js';
import { UPLOAD_DIR_PREFIX } from '../../../src/exec/ssh/upload.js';
import { RUN_AS_PASSWORD_USER, RUN_AS_USER, TEST_USER_HOME } from '../../harness/ssh-setup.js';
import { argv, processesWith, request, shell, useSshHosts, useSudoRule } from '../../harness/ssh-fixture.js';

const HOSTILE_ARGS = ["it's", '$(touch /tmp/distcron-pwned)', 'two words', '', 'line1\nline2', '-n', 'ünï ✓'];

function script(
  text: string,
  extra: Partial<Extract<CommandSpec, { kind: 'script' }>> = {},
): Extract<CommandSpec, { kind: 'script' }> {
  const content = Buffer.from(text);
  return {
    kind: 'script',
    source: 'inline',
    content,
    sha256: sha256Hex(content),
    interpreter: shebangInterpreter(content) ?? ['/bin/sh'],
    args: [],
    delivery: 'stdin',
    ...extra,
  };
}

function uploadDirs(): string[] {
  return readdirSync(TEST_USER_HOME).filter((f) => f.startsWith(UPLOAD_DIR_PREFIX));
}

describe('Scripts, stdin and run_as on a real sshd', function () {
  this.timeout(30_000);
  const fixture = useSshHosts('ssh scripts', { count: 1 });
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

  describe('stdin', () => {
    it('gives a command that reads stdin end of input at once instead of hanging until its timeout', async () => {
      const started = Date.now();
      const out = await executor.run(
        fixture.hosts.node(0),
        request(shell('cat; echo "read done"'), { timeoutMs: 10_000 }),
      );
      expect(out.status, out.error ?? out.stderr).to.equal('succeeded');
      expect(out.stdout).to.equal('read done\n');
      expect(Date.now() - started).to.be.below(5_000);
    });
  });

  describe('script over stdin (default delivery)', () => {
    it('runs an inline sh script with hostile arguments passed intact, leaving no file on the host', async () => {
      const before = uploadDirs();
      const out = await executor.run(
        fixture.hosts.node(0),
        request(script('for a in "$@"; do printf "[%s]" "$a"; done\n', { args: HOSTILE_ARGS })),
      );
      expect(out.status, out.error ?? out.stderr).to.equal('succeeded');
      expect(out.stdout).to.equal(HOSTILE_ARGS.map((a) => `[${a}]`).join(''));
      expect(uploadDirs()).to.deep.equal(before);
    });

    it('runs a python3 script from its shebang, with its arguments in sys.argv', async () => {
      const out = await executor.run(
        fixture.hosts.node(0),
        request(
          script('#!/usr/bin/env python3\nimport sys\nprint("py", sys.argv[1:])\n', { args: ['a b', 'c'] }),
        ),
      );
      expect(out.status, out.error ?? out.stderr).to.equal('succeeded');
      expect(out.stdout).to.equal("py ['a b', 'c']\n");
    });

    it('gives the environment and working directory to the script', async () => {
      const out = await executor.run(
        fixture.hosts.node(0),
        request(script('echo "$GREETING from $(pwd)"; exit 3\n'), {
          environment: { GREETING: 'hi $(x)' },
          workingDirectory: '/usr/share',
        }),
      );
      expect(out.status).to.equal('failed');
      expect(out.exitCode).to.equal(3);
      expect(out.stdout).to.equal('hi $(x) from /usr/share\n');
    });

    it('ends as an error naming the host when the interpreter does not exist there', async () => {
      const out = await executor.run(
        fixture.hosts.node(0),
        request(script('print 1\n', { interpreter: ['/usr/bin/python9'] })),
      );
      expect(out.status).to.equal('error');
      expect(out.error).to.match(
        /^interpreter \/usr\/bin\/python9 not found on node h0 \(127\.0\.0\.2:\d+\)/,
      );
      expect(out.stderr).to.equal('');
    });
  });

  describe('script upload over SFTP', () => {
    it('runs the uploaded script, which reads end of input on its own stdin, and removes its directory', async () => {
      const before = uploadDirs();
      const out = await executor.run(
        fixture.hosts.node(0),
        request(
          script(
            '#!/bin/sh\nread line || echo "stdin at end"\necho "me: $0 args: $*"\nls -ld "$(dirname "$0")"\n',
            {
              delivery: 'upload',
              args: ['x', 'y z'],
            },
          ),
        ),
      );
      expect(out.status, out.error ?? out.stderr).to.equal('succeeded');
      const [first, second, third] = out.stdout.split('\n');
      expect(first).to.equal('stdin at end');
      expect(second).to.match(
        new RegExp(`^me: ${TEST_USER_HOME}/\\${UPLOAD_DIR_PREFIX}[0-9a-f]{12}/script args: x y z$`),
      );
      expect(third).to.match(/^drwx------ /);
      expect(uploadDirs()).to.deep.equal(before);
    });

    it('removes the directory when the script fails, and when it times out', async () => {
      const before = uploadDirs();
      const failed = await executor.run(
        fixture.hosts.node(0),
        request(script('exit 7\n', { delivery: 'upload' })),
      );
      expect(failed.exitCode).to.equal(7);
      const marker = `distcron-upload-timeout-${process.pid}`;
      const timedOut = await executor.run(
        fixture.hosts.node(0),
        request(script(`sleep 30 # ${marker}\n`, { delivery: 'upload' }), { timeoutMs: 500 }),
      );
      expect(timedOut.status).to.equal('timed_out');
      expect(uploadDirs()).to.deep.equal(before);
      expect(processesWith(marker)).to.deep.equal([]);
    });
  });

  describe('run_as', () => {
    useSudoRule('ssh run_as');

    it('runs an argv command as the run_as user through passwordless sudo, with its environment', async () => {
      const out = await executor.run(
        fixture.hosts.node(0),
        request(
          { ...argv('/bin/sh', '-c', 'echo "$(id -un) $V"'), runAs: RUN_AS_USER },
          { environment: { V: "it's" } },
        ),
      );
      expect(out.status, out.error ?? out.stderr).to.equal('succeeded');
      expect(out.stdout).to.equal(`${RUN_AS_USER} it's\n`);
    });

    it('runs a script over stdin as the run_as user', async () => {
      const out = await executor.run(
        fixture.hosts.node(0),
        request({ ...script('id -un; echo "$@"\n', { args: ['a'] }), runAs: RUN_AS_USER }),
      );
      expect(out.status, out.error ?? out.stderr).to.equal('succeeded');
      expect(out.stdout).to.equal(`${RUN_AS_USER}\na\n`);
    });

    it('fails at once with a clear error where sudo would ask for a password', async () => {
      const started = Date.now();
      const out = await executor.run(
        fixture.hosts.node(0),
        request({ ...shell('echo should not run'), runAs: RUN_AS_PASSWORD_USER }, { timeoutMs: 20_000 }),
      );
      expect(Date.now() - started).to.be.below(5_000);
      expect(out.status).to.equal('error');
      expect(out.stdout).to.equal('');
      expect(out.error).to.match(
        new RegExp(
          `^run_as ${RUN_AS_PASSWORD_USER} needs passwordless sudo on node h0 \\(127\\.0\\.0\\.2:\\d+\\) \\(sudo said: .*password is required`,
        ),
      );
    });

    it("kills the run_as user's whole process tree on timeout", async () => {
      const marker = `distcron-runas-timeout-${process.pid}`;
      const out = await executor.run(
        fixture.hosts.node(0),
        request(
          { ...shell(`sleep 30 & sleep 31 # ${marker}\nwait`), runAs: RUN_AS_USER },
          { timeoutMs: 500 },
        ),
      );
      expect(out.status).to.equal('timed_out');
      await new Promise((r) => setTimeout(r, 300));
      expect(processesWith(marker)).to.deep.equal([]);
    });
  });
});
