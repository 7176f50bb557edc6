import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { isoUtc } from '../../../src/core/types.js';
import { fakeRun } from '../../harness/runs.js';
import type { ApiCaller } from '../../unit/api/http.js';
import { LOCAL_NODE, QUICK_JOB, TestApi } from './test-api.js';

describe("api distcrond's read routes, nodes and config errors on a real daemon", function () {
  this.timeout(60_000);
  let t: TestApi;
  let api: ApiCaller;
  const start = Date.parse('2026-11-26T09:00:00.000Z');
  const a = fakeRun({ job: 'backup', node: 'web1', started_at: isoUtc(start), stdout: 'a' });
  const b = fakeRun({
    job: 'backup',
    execution_id: a.execution_id,
    node: 'web2',
    status: 'failed',
    started_at: isoUtc(start + 10),
    finished_at: isoUtc(start + 2500),
    stdout: 'b',
    stderr: '!',
  });

  before(async () => {
    t = await TestApi.start({
      nodes: { web1: LOCAL_NODE },
      jobs: {
        backup: { ...QUICK_JOB, description: 'dump', schedule: '0 3 * * *' },
        'hosts-job': {
          policy: { select: 'all', hosts: ['web1'] },
          shell_command: 'echo hi',
          schedule: '@every 90m',
        },
      },
      runs: [a, b],
    });
    writeFileSync(join(t.env.jobsDir, 'bad.json'), '{"command": ["true"],\n "policy": 7}');
    await t.daemon.reload();
    api = t.as();
  });
  after(() => t.close());

  it('lists jobs in distcrond shape with hrefs, and the schedule as written in the file', async () => {
    const reply = await api.get('/jobs');
    const backup = reply.json.find((j: { name: string }) => j.name === 'backup');
    const hosts = reply.json.find((j: { name: string }) => j.name === 'hosts-job');
    const base = new URL(t.url).host;
    expect(backup).to.deep.include({
      name: 'backup',
      href: `http://${base}/jobs/backup`,
      description: 'dump',
      execution_policy: { select: 'any', roles: ['web'] },
      execution_schedule: '0 3 * * *',
      command: ['true'],
    });
    expect(backup.links).to.deep.equal([{ href: `http://${base}/jobs/backup/reports`, rel: 'reports' }]);
    expect(hosts.execution_policy).to.deep.equal({ select: 'all', hosts: ['web1'] });
    expect(hosts.execution_schedule).to.equal('@every 1h30m0s');
    expect(hosts.command).to.deep.equal(['/bin/sh', '-c', 'echo hi']);
  });

  it('shows one job, and 404 for an unknown one', async () => {
    expect((await api.get('/jobs/backup')).json.execution_schedule).to.equal('0 3 * * *');
    expect((await api.get('/jobs/nope')).status).to.equal(404);
  });

  it("groups a job's runs into one distcrond report per execution", async () => {
    const reply = await api.get('/jobs/backup/reports');
    expect(reply.json).to.have.length(1);
    const [report] = reply.json;
    expect(report).to.deep.include({ job: 'backup', success: false });
    expect(report.time.stop).to.equal('2026-11-26T09:00:02.500Z');
    expect(report.items.map((i: { node: string; output: string }) => [i.node, i.output])).to.deep.equal([
      ['web2', 'b!'],
      ['web1', 'a'],
    ]);
  });

  it('lists nodes in distcrond shape and shows one', async () => {
    const list = await api.get('/nodes');
    expect(list.json).to.deep.equal([
      {
        name: 'web1',
        href: `http://${new URL(t.url).host}/nodes/web1`,
        roles: ['web'],
        status: 'up',
        running_jobs: 0,
      },
    ]);
    expect((await api.get('/nodes/web1')).json.name).to.equal('web1');
    expect((await api.get('/nodes/nope')).status).to.equal(404);
    expect((await api.get('/api/v1/nodes/nope')).status).to.equal(404);
  });

  it('links to /jobs and /nodes from the root', async () => {
    expect((await api.get('/')).json.links.map((l: { rel: string }) => l.rel)).to.deep.equal([
      'jobs',
      'nodes',
    ]);
  });

  it('lists a broken file under /config/errors with its location', async () => {
    const reply = await api.get('/api/v1/config/errors');
    const problem = reply.json.errors.find((e: { file: string }) => e.file.endsWith('bad.json'));
    expect(problem).to.include({ line: 2, severity: 'error' });
  });
});
