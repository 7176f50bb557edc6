import { execFile } from 'node:child_process';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { useSshHosts } from '../../harness/ssh-fixture.js';
import { TOKEN_FILE, TOKENS } from '../../unit/api/setup.js';
import { ApiDaemon, eventually } from './api-daemon.js';

const CLI = new URL('../../../src/cli/main.ts', import.meta.url).pathname;

/** The real `distcron` command line, as an operator types it. */
function cli(
  args: string[],
  token: string = TOKENS.admin,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      { env: { ...process.env, DISTCRON_TOKEN: token } },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    );
  });
}

interface RunRow {
  id: string;
  execution_id: string;
  job: string;
  node: string | null;
  trigger: string;
  status: string;
  exit_code: number | null;
  stdout: string;
  stderr: string;
  requested_by: string | null;
  error: string | null;
}

describe('ad-hoc commands (POST /api/v1/exec, distcron exec) on real sshd hosts', function () {
  this.timeout(120_000);
  const fixture = useSshHosts('ad-hoc exec', { count: 2 });
  const d = new ApiDaemon(TOKEN_FILE);

  /** The SQLite rows, as an operator reads them with sqlite3. */
  function rows(sql: string, ...args: unknown[]): RunRow[] {
    const db = new Database(d.env.dbPath, { readonly: true });
    try {
      return db.prepare(sql).all(...args) as RunRow[];
    } finally {
      db.close();
    }
  }
  const adhocCount = () => rows("SELECT id FROM runs WHERE trigger = 'adhoc'").length;

  async function finalRuns(ids: string[]): Promise<RunRow[]> {
    return eventually(async () => {
      const got = rows(
        `SELECT * FROM runs WHERE id IN (${ids.map(() => '?').join(',')}) ORDER BY node`,
        ...ids,
      );
      return got.length === ids.length && got.every((r) => r.status !== 'running') ? got : undefined;
    }, 30_000);
  }

  before(async function () {
    const hosts = fixture.hosts;
    for (const i of [0, 1])
      d.env.writeNode(`web${i + 1}`, {
        roles: ['web'],
        connection_type: 'ssh',
        connection_options: {
          ssh_host: hosts.hostPort(i),
          ssh_user: hosts.user,
          ssh_private_key_file: hosts.clientKeyFile,
        },
      });
    d.env.writeNode('ctl', { roles: ['ops'], connection_type: 'local' });
    await d.start({ knownHostsFile: hosts.knownHostsFile });
  });
  after(() => d.cleanup());

  it('runs once on every selected host, recorded with trigger adhoc, job @adhoc and the token name', async () => {
    const reply = await d.as(TOKENS.admin).post('/api/v1/exec', {
      policy: { select: 'all', roles: ['web'] },
      command: ['sh', '-c', 'echo "on $DISTCRON_NODE"; echo note >&2'],
      timeout: '30s',
    });
    expect(reply.status, reply.text).to.equal(202);
    expect(reply.json.job).to.equal('@adhoc');
    expect(reply.json.run_ids).to.have.length(2);
    expect(reply.headers.get('location')).to.equal(`/api/v1/runs/${reply.json.run_ids[0]}`);
    const done = await finalRuns(reply.json.run_ids);
    expect(done.map((r) => [r.node, r.status, r.stdout, r.stderr])).to.deep.equal([
      ['web1', 'succeeded', 'on web1\n', 'note\n'],
      ['web2', 'succeeded', 'on web2\n', 'note\n'],
    ]);
    for (const r of done) {
      expect(r).to.include({ job: '@adhoc', trigger: 'adhoc', requested_by: 'ops' });
      expect(r.execution_id).to.equal(reply.json.execution_id);
    }
    const listed = await d.as(TOKENS.read).get('/api/v1/runs?trigger=adhoc');
    expect(listed.status).to.equal(200);
    expect(listed.json.runs.map((r: { id: string }) => r.id)).to.include.members(reply.json.run_ids);
    const audit = await d.as(TOKENS.admin).get('/api/v1/audit');
    expect(audit.json.entries[0]).to.include({
      action: 'adhoc.exec',
      target: reply.json.execution_id,
      token: 'ops',
      status: 202,
    });
  });

  it('select any runs on one host; a failing command notifies nobody', async () => {
    const reply = await d.as(TOKENS.admin).post('/api/v1/exec', {
      policy: { select: 'any', roles: ['web'] },
      shell_command: 'echo "$DISTCRON_NODE"; exit 7',
    });
    expect(reply.status, reply.text).to.equal(202);
    const [run] = await finalRuns(reply.json.run_ids);
    expect(run).to.include({ status: 'failed', exit_code: 7, trigger: 'adhoc' });
    expect(['web1', 'web2']).to.include(run!.node);
    // The notifier never heard of it: no notify entry, no failing state for @adhoc.
    await new Promise((r) => setTimeout(r, 300));
    expect(rows("SELECT key FROM outbox WHERE sink = 'notify' AND key = ?", `run:${run!.id}`)).to.deep.equal(
      [],
    );
    expect(rows("SELECT job FROM notify_state WHERE job = '@adhoc'")).to.deep.equal([]);
  });

  it('refuses read and operate tokens (403), a form POST (415) and bad bodies (400 naming the field); nothing runs', async () => {
    const before = adhocCount();
    const body = { policy: { roles: ['web'] }, command: ['touch', '/tmp/distcron-adhoc-should-not-run'] };
    for (const token of [TOKENS.read, TOKENS.operate]) {
      const reply = await d.as(token).post('/api/v1/exec', body);
      expect(reply.status).to.equal(403);
      expect(reply.json.error.message).to.match(/this needs admin/);
    }
    const form = await d.as(TOKENS.admin).post('/api/v1/exec', 'policy=x&command=touch', {
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(form.status).to.equal(415);
    const bad: [unknown, string | null, RegExp][] = [
      [{ policy: { roles: ['web'] } }, null, /missing "command"/],
      [{ command: ['true'] }, null, /missing "policy"/],
      [{ policy: {}, command: ['true'] }, 'policy', /needs "hosts"/],
      [{ policy: { roles: ['web'] }, command: 'uptime' }, 'command', /argv array/],
      [{ policy: { roles: ['web'] }, shell_command: '' }, 'shell_command', /./],
      [{ policy: { roles: ['web'] }, command: ['true'], timeout: 'soon' }, 'timeout', /./],
      [{ policy: { roles: ['web'] }, command: ['true'], run_as: 'x y' }, 'run_as', /not a valid user name/],
      [
        { policy: { roles: ['web'] }, command: ['true'], shell_command: 'true' },
        'shell_command',
        /exactly one/,
      ],
    ];
    for (const [b, field, message] of bad) {
      const reply = await d.as(TOKENS.admin).post('/api/v1/exec', b);
      expect(reply.status, JSON.stringify(b)).to.equal(400);
      expect(reply.json.error.details.field, JSON.stringify(b)).to.equal(field);
      expect(reply.json.error.message, JSON.stringify(b)).to.match(message);
    }
    const unknownField = await d.as(TOKENS.admin).post('/api/v1/exec', { ...body, script: '/etc/shadow' });
    expect(unknownField.status).to.equal(400);
    expect(unknownField.json.error.code).to.equal('unknown_fields');
    const noNode = await d.as(TOKENS.admin).post('/api/v1/exec', { ...body, policy: { roles: ['nope'] } });
    expect(noNode.status).to.equal(400);
    expect(noNode.json.error.message).to.match(/no candidate node: no node matches roles nope/);
    const unknownHost = await d.as(TOKENS.admin).post('/api/v1/exec', {
      ...body,
      policy: { hosts: ['web1', 'web9'] },
    });
    expect(unknownHost.status).to.equal(400);
    expect(unknownHost.json.error.details).to.deep.include({ field: 'policy.hosts', nodes: ['web9'] });
    expect(adhocCount()).to.equal(before);
  });

  it('distcron exec prints each host\'s lines prefixed "NODE | " and exits 0 when all succeeded', async () => {
    const result = await cli([
      'exec',
      '--role',
      'web',
      '--api',
      d.url,
      '--',
      'sh',
      '-c',
      'echo "one $DISTCRON_NODE"; echo two; echo err >&2',
    ]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout.split('\n').filter((l) => l !== '')).to.deep.equal([
      'web1 | one web1',
      'web1 | two',
      'web2 | one web2',
      'web2 | two',
    ]);
    expect(result.stderr.split('\n').filter((l) => l !== '')).to.deep.equal(['web1 | err', 'web2 | err']);
    const recorded = rows("SELECT * FROM runs WHERE trigger = 'adhoc' ORDER BY id DESC LIMIT 2");
    expect(recorded.map((r) => [r.requested_by, r.status])).to.deep.equal([
      ['ops', 'succeeded'],
      ['ops', 'succeeded'],
    ]);
    const listed = await cli(['runs', '--trigger', 'adhoc', '--json', '--api', d.url], TOKENS.read);
    expect(listed.code, listed.stderr).to.equal(0);
    const runs = JSON.parse(listed.stdout) as { id: string; job: string; trigger: string }[];
    expect(runs.map((r) => r.id)).to.include.members(recorded.map((r) => r.id));
    expect(runs.every((r) => r.job === '@adhoc' && r.trigger === 'adhoc')).to.equal(true);
  });

  it('distcron exec exits 1 when any host failed and says which; --timeout and --node apply', async () => {
    const failing = await cli([
      'exec',
      '--role',
      'web',
      '--api',
      d.url,
      '--shell',
      '--',
      'echo "hi";',
      'test "$DISTCRON_NODE" = web1',
    ]);
    expect(failing.code).to.equal(1);
    expect(failing.stdout.split('\n').filter((l) => l !== '')).to.deep.equal(['web1 | hi', 'web2 | hi']);
    expect(failing.stderr).to.match(/^web2 \| failed \(exit 1\) in /m);
    expect(failing.stderr).to.match(/^distcron exec: 1 of 2 hosts failed$/m);
    const slow = await cli([
      'exec',
      '--node',
      'web2',
      '--timeout',
      '1s',
      '--api',
      d.url,
      '--',
      'sleep',
      '30',
    ]);
    expect(slow.code).to.equal(1);
    expect(slow.stderr).to.match(/^web2 \| timed_out /m);
    const local = await cli(['exec', '--role', 'ops', '--any', '--api', d.url, '--', 'echo', 'a b', '$HOME']);
    expect(local.code, local.stderr).to.equal(0);
    expect(local.stdout).to.equal('ctl | a b $HOME\n');
  });

  it('distcron exec: an operate token is refused (exit 1), a usage mistake is exit 2', async () => {
    const weak = await cli(['exec', '--role', 'web', '--api', d.url, '--', 'true'], TOKENS.operate);
    expect(weak.code).to.equal(1);
    expect(weak.stderr).to.match(/has role operate; this needs admin/);
    const noTarget = await cli(['exec', '--api', d.url, '--', 'true']);
    expect(noTarget.code).to.equal(2);
    expect(noTarget.stderr).to.match(/choose nodes with --role/);
    const both = await cli(['exec', '--role', 'web', '--node', 'web1', '--api', d.url, '--', 'true']);
    expect(both.code).to.equal(2);
  });
});
