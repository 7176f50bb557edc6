import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import Database from 'better-sqlite3';
import type { Daemon } from '../../../src/daemon/daemon.js';
import { jobDetailJson } from '../../../src/api/views.js';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { useSshHosts } from '../../harness/ssh-fixture.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const ROTATE_V1 = '#!/bin/sh\necho "rotating $1 as $(id -un), stdin: $(cat | wc -c) bytes"\n';
const ROTATE_V2 = '#!/bin/bash\necho "v2 $*"\n';
const INLINE_PY = 'import sys\nprint("local", sys.argv[1:])\n';

/** script_sha256 as stored in the SQLite `runs` table (what the API and Elasticsearch get). */
function storedSha(dbPath: string, runId: string): string | null {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT script_sha256 FROM runs WHERE id = ?').get(runId) as
      { script_sha256: string | null } | undefined;
    return row?.script_sha256 ?? null;
  } finally {
    db.close();
  }
}

describe('daemon: script jobs on a real sshd and locally', function () {
  this.timeout(60_000);
  const fixture = useSshHosts('daemon script jobs', { count: 1 });
  const env = new DaemonEnv();
  let daemon: Daemon;

  async function runOnce(job: string) {
    const { runIds } = await daemon.control.runJob(job, {});
    return daemon.control.waitForRun(runIds[0]!);
  }

  before(async function () {
    const hosts = fixture.hosts;
    env.writeNode('h0', {
      roles: ['remote'],
      connection_type: 'ssh',
      connection_options: {
        ssh_host: hosts.hostPort(0),
        ssh_user: hosts.user,
        ssh_private_key_file: hosts.clientKeyFile,
      },
    });
    env.writeNode('here', { roles: ['local'], connection_type: 'local' });
    mkdirSync(join(env.jobsDir, 'scripts'));
    writeFileSync(join(env.jobsDir, 'scripts', 'rotate.sh'), ROTATE_V1);
    env.writeJob('rotate', {
      policy: { select: 'any', hosts: ['h0'] },
      schedule: '@manual',
      script: 'scripts/rotate.sh',
      args: ['/var/log/app'],
    });
    env.writeJob('local-py', {
      policy: { select: 'any', hosts: ['here'] },
      schedule: '@manual',
      script_inline: INLINE_PY,
      interpreter: 'python3',
      args: ['x y'],
    });
    env.writeJob('plain', {
      policy: { select: 'any', hosts: ['here'] },
      schedule: '@manual',
      shell_command: 'cat; echo done',
    });
    daemon = await env.start({ knownHostsFile: hosts.knownHostsFile });
  });
  after(() => env.cleanup());

  it('pushes a script file (relative to the job file) over stdin and records its sha256 in SQLite', async () => {
    const run = await runOnce('rotate');
    expect(run.status, run.error ?? run.stderr).to.equal('succeeded');
    expect(run.stdout).to.equal(`rotating /var/log/app as ${fixture.hosts.user}, stdin: 0 bytes\n`);
    expect(run.scriptSha256).to.equal(sha256(ROTATE_V1));
    expect(storedSha(env.dbPath, run.id)).to.equal(sha256(ROTATE_V1));
  });

  it('describes a script job in the API by source, sha256, interpreter, args and delivery, not its bytes', async () => {
    const view = await daemon.control.getJob('local-py');
    expect(view).to.not.equal(undefined);
    const json = jobDetailJson(view!);
    expect(json.definition.script).to.deep.equal({
      source: 'inline',
      sha256: sha256(INLINE_PY),
      interpreter: ['python3'],
      args: ['x y'],
      delivery: 'stdin',
    });
    expect(json.definition.run_as).to.equal(null);
    expect(JSON.stringify(json)).to.not.include('import sys');
  });

  it('runs an inline python script on a local node, with its sha256', async () => {
    const run = await runOnce('local-py');
    expect(run.status, run.error ?? run.stderr).to.equal('succeeded');
    expect(run.stdout).to.equal("local ['x y']\n");
    expect(storedSha(env.dbPath, run.id)).to.equal(sha256(INLINE_PY));
  });

  it('gives a plain command end of input on stdin and records no script_sha256', async () => {
    const run = await runOnce('plain');
    expect(run.stdout).to.equal('done\n');
    expect(storedSha(env.dbPath, run.id)).to.equal(null);
  });

  it('re-reads the script file on reload (SIGHUP): the next run uses and records the new version', async () => {
    writeFileSync(join(env.jobsDir, 'scripts', 'rotate.sh'), ROTATE_V2);
    await daemon.reload();
    const run = await runOnce('rotate');
    expect(run.stdout).to.equal('v2 /var/log/app\n');
    expect(storedSha(env.dbPath, run.id)).to.equal(sha256(ROTATE_V2));
  });

  it('keeps running the last good version when the script file goes missing, and reports the problem', async () => {
    writeFileSync(join(env.jobsDir, 'scripts', 'rotate.sh'), ROTATE_V2);
    env.writeJob('rotate', {
      policy: { select: 'any', hosts: ['h0'] },
      schedule: '@manual',
      script: 'scripts/missing.sh',
    });
    await daemon.reload();
    const problem = daemon.control.configErrors().find((p) => p.file.endsWith('rotate.json'));
    expect(problem?.path).to.equal('$.script');
    expect(problem?.message).to.match(
      /^script file scripts\/missing\.sh \(.*\/jobs\.d\/scripts\/missing\.sh\): does not exist/,
    );
    const run = await runOnce('rotate');
    expect(run.stdout).to.equal('v2 /var/log/app\n');
  });
});
