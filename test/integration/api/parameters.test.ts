import Database from 'better-sqlite3';
import { expect } from 'chai';
import type { RunRecord } from '../../../src/core/types.js';
import { useSshHosts } from '../../harness/ssh-fixture.js';
import { ApiDaemon } from './api-daemon.js';

const PRINT = 'printf "%s|%s|%s|%s" "$TARGET" "$COUNT" "$NOTE" "${LD_PRELOAD-unset}"';

/**
 * Typed parameters through the real daemon's HTTP API, on the daemon's own host and over a real
 * sshd: checked before anything runs, delivered as environment variables, recorded on the run.
 */
describe('api: manual runs with typed parameters (local and over real sshd)', function () {
  this.timeout(120_000);
  const ssh = useSshHosts('api parameters', { count: 1 });
  let api: ApiDaemon;

  before(async function () {
    if (!ssh.hosts) return;
    api = new ApiDaemon();
    api.env.writeNode('here', { roles: ['p'], connection_type: 'local' });
    api.env.writeNode('remote', {
      roles: ['p'],
      connection_type: 'ssh',
      connection_options: {
        ssh_host: ssh.hosts.hostPort(0),
        ssh_user: ssh.hosts.user,
        ssh_private_key_file: ssh.hosts.clientKeyFile,
      },
    });
    api.env.writeJob('deploy', {
      policy: { select: 'any', roles: ['p'] },
      schedule: '@manual',
      overlap: 'allow',
      command: ['/bin/sh', '-c', PRINT],
      parameters: {
        TARGET: { enum: ['db1', 'db2'], default: 'db1' },
        COUNT: { pattern: '^[0-9]{1,4}$', required: true },
        NOTE: { type: 'string', max_length: 200 },
      },
    });
    await api.start({ knownHostsFile: ssh.hosts.knownHostsFile, sshConnectTimeoutMs: 5000 });
  });
  after(async () => {
    await api?.cleanup();
  });

  async function runs(body: object): Promise<RunRecord[]> {
    const reply = await api.as().post('/api/v1/jobs/deploy/run', body);
    expect(reply.status, reply.text).to.equal(202);
    const ids = reply.json.run_ids as string[];
    return Promise.all(ids.map((id) => api.daemon.control.waitForRun(id)));
  }

  it('runs on each named node with the given values and the defaults, and records them', async () => {
    const note = `it's "$(touch /tmp/pwned)" ; x`;
    const done = await runs({ nodes: ['here', 'remote'], parameters: { COUNT: '42', NOTE: note } });
    expect(done.map((r) => r.node).sort()).to.deep.equal(['here', 'remote']);
    for (const run of done) {
      expect(run.status, run.error ?? run.stderr).to.equal('succeeded');
      expect(run.stdout).to.equal(`db1|42|${note}|unset`);
      expect(run.parameters).to.deep.equal({ TARGET: 'db1', COUNT: '42', NOTE: note });
    }
    const detail = await api.as().get(`/api/v1/runs/${done[0]!.id}`);
    expect(detail.json.parameters).to.deep.equal({ TARGET: 'db1', COUNT: '42', NOTE: note });
    const db = new Database(api.env.dbPath, { readonly: true });
    try {
      const row = db.prepare('SELECT parameters, requested_by FROM runs WHERE id = ?').get(done[0]!.id) as {
        parameters: string;
        requested_by: string | null;
      };
      expect(JSON.parse(row.parameters)).to.deep.equal({ TARGET: 'db1', COUNT: '42', NOTE: note });
      expect(row.requested_by).to.equal(null);
    } finally {
      db.close();
    }
  });

  it('lists the declarations in the job view', async () => {
    const job = await api.as().get('/api/v1/jobs/deploy');
    expect(job.json.definition.parameters.TARGET).to.deep.equal({
      type: 'string',
      required: false,
      enum: ['db1', 'db2'],
      default: 'db1',
    });
  });

  it('reads the legacy "environment" body as parameters, over ssh', async () => {
    const [run] = await runs({ node: 'remote', environment: { COUNT: '7', TARGET: 'db2' } });
    expect(run!.stdout).to.equal('db2|7||unset');
  });

  const refused: [string, object, RegExp][] = [
    ['an undeclared name', { parameters: { COUNT: '1', LD_PRELOAD: '/tmp/evil.so' } }, /LD_PRELOAD/],
    ['an undeclared name given as legacy environment', { environment: { COUNT: '1', PATH: '/tmp' } }, /PATH/],
    ['a missing required value', { parameters: { TARGET: 'db2' } }, /COUNT is required/],
    ['a value outside the enum', { parameters: { COUNT: '1', TARGET: 'prod' } }, /TARGET must be one of/],
    ['a value failing the pattern', { parameters: { COUNT: '1; reboot' } }, /COUNT must match/],
    [
      'a value over max_length',
      { parameters: { COUNT: '1', NOTE: 'x'.repeat(201) } },
      /NOTE must be at most 200/,
    ],
    ['a newline', { parameters: { COUNT: '1', NOTE: 'a\nb' } }, /NOTE contains a control character/],
    ['a NUL', { parameters: { COUNT: '1', NOTE: 'a\u0000b' } }, /NOTE contains a control character/],
    ['an unknown node', { nodes: ['nowhere'], parameters: { COUNT: '1' } }, /no such node: nowhere/],
  ];
  for (const [what, body, message] of refused) {
    it(`refuses ${what} with 400 naming it, and runs nothing`, async () => {
      const before = (await api.daemon.control.listRuns({ job: 'deploy', limit: 1000 })).runs.length;
      const reply = await api.as().post('/api/v1/jobs/deploy/run', body);
      expect(reply.status, reply.text).to.equal(400);
      expect(reply.json.error.message).to.match(message);
      expect((await api.daemon.control.listRuns({ job: 'deploy', limit: 1000 })).runs.length).to.equal(
        before,
      );
    });
  }
});
