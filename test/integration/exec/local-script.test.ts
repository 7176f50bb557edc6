import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandSpec } from '../../../src/core/types.js';
import { LocalExecutor } from '../../../src/exec/local.js';
import { sha256Hex } from '../../../src/exec/script.js';
import { RUN_AS_USER, installSudoRule, removeSudoRule, sudoMissingReason } from '../../harness/ssh-setup.js';
import { LOCAL_NODE, request, shell } from './local-support.js';

function script(text: string, extra: Partial<Extract<CommandSpec, { kind: 'script' }>> = {}): CommandSpec {
  const content = Buffer.from(text);
  return {
    kind: 'script',
    source: 'inline',
    content,
    sha256: sha256Hex(content),
    interpreter: ['/bin/sh'],
    args: [],
    delivery: 'stdin',
    ...extra,
  };
}

describe('LocalExecutor: scripts, stdin and run_as', function () {
  this.timeout(20_000);
  let home: string;
  let executor: LocalExecutor;
  before(() => {
    home = mkdtempSync(join(tmpdir(), 'distcron-local-home-'));
    executor = new LocalExecutor({ killGraceMs: 200, baseEnv: { PATH: process.env.PATH!, HOME: home } });
  });
  after(async () => {
    await executor.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('gives a command that reads stdin end of input at once', async () => {
    const out = await executor.run(LOCAL_NODE, request(shell('cat; echo done'), { timeoutMs: 5_000 }));
    expect(out.status).to.equal('succeeded');
    expect(out.stdout).to.equal('done\n');
  });

  it('feeds a script on stdin with its arguments', async () => {
    const out = await executor.run(
      LOCAL_NODE,
      request(script('printf "[%s]" "$@"', { args: ["it's", '', '$(x)'] })),
    );
    expect(out.status, out.error ?? out.stderr).to.equal('succeeded');
    expect(out.stdout).to.equal("[it's][][$(x)]");
  });

  it('runs an uploaded script from a 0700 directory under HOME, with end of input on stdin, and removes it', async () => {
    const out = await executor.run(
      LOCAL_NODE,
      request(
        script('read x || echo eof; stat -c %a "$(dirname "$0")"; echo "$1"; exit 4', {
          delivery: 'upload',
          args: ['a b'],
        }),
      ),
    );
    expect(out.exitCode, out.stderr).to.equal(4);
    expect(out.stdout).to.equal('eof\n700\na b\n');
    expect(readdirSync(home)).to.deep.equal([]);
  });

  it('ends as an error naming the local host when the interpreter does not exist', async () => {
    const out = await executor.run(LOCAL_NODE, request(script('x', { interpreter: ['/usr/bin/python9'] })));
    expect(out.status).to.equal('error');
    expect(out.error).to.match(/^interpreter \/usr\/bin\/python9 not found on the local host \(/);
  });

  it('runs a command as the run_as user through sudo, with the job environment', async function () {
    if (sudoMissingReason() || process.getuid?.() !== 0) this.skip();
    installSudoRule(); // creates the run_as user (root itself needs no rule)
    let out;
    try {
      out = await executor.run(
        LOCAL_NODE,
        request({ ...shell('echo "$(id -un) $V"'), runAs: RUN_AS_USER }, { environment: { V: 'v' } }),
      );
    } finally {
      removeSudoRule();
    }
    expect(out.status, out.error ?? out.stderr).to.equal('succeeded');
    expect(out.stdout).to.equal(`${RUN_AS_USER} v\n`);
  });
});
