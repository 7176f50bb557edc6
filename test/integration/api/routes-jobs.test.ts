import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { ApiCaller } from '../../unit/api/http.js';
import { eventually } from './api-daemon.js';
import { LOCAL_NODE, nextPath, QUICK_JOB, SLEEPY_JOB, TestApi } from './test-api.js';

const WEB = { select: 'any', roles: ['web'] };

describe('api jobs routes on a real daemon', function () {
  this.timeout(60_000);
  let t: TestApi;
  let api: ApiCaller;
  let failedId: string;

  before(async () => {
    const jobs: Record<string, object> = {
      backup: { ...QUICK_JOB, tags: ['db', 'nightly'], description: 'Nightly database dump' },
      'rotate-logs': { ...QUICK_JOB, command: ['false'], tags: ['logs'] },
      'notify-me': {
        ...QUICK_JOB,
        notify: {
          on: ['failure'],
          webhooks: [{ url: 'http://127.0.0.1:9/hook', secret: 'hook-secret-value' }],
        },
      },
      sleepy: SLEEPY_JOB,
    };
    for (let i = 0; i < 25; i++)
      jobs[`page-${String(i).padStart(2, '0')}`] = { ...QUICK_JOB, tags: ['paged'] };
    t = await TestApi.start({ nodes: { web1: LOCAL_NODE }, jobs });
    api = t.as();
    failedId = (await api.post('/api/v1/jobs/rotate-logs/run')).json.run_ids[0];
    await eventually(async () =>
      (await api.get(`/api/v1/runs/${failedId}`)).json.status === 'failed' ? true : undefined,
    );
  });
  after(() => t.close());

  it('lists jobs sorted by name', async () => {
    const reply = await api.get('/api/v1/jobs?limit=1000');
    expect(reply.status).to.equal(200);
    const names = reply.json.jobs.map((j: { name: string }) => j.name);
    expect(names).to.deep.equal([...names].sort());
    expect(names).to.include.members(['backup', 'notify-me', 'rotate-logs']);
    expect([reply.json.next_cursor, reply.headers.get('link')]).to.deep.equal([null, null]);
  });

  it('filters jobs by tag, by text in name or description, and by last-run state', async () => {
    expect((await api.post('/api/v1/jobs/notify-me/disable')).status).to.equal(200);
    const names = async (query: string) =>
      (await api.get(`/api/v1/jobs?${query}`)).json.jobs.map((j: { name: string }) => j.name);
    expect(await names('tag=db')).to.deep.equal(['backup']);
    expect(await names('q=DATABASE')).to.deep.equal(['backup']);
    expect(await names('q=rotate')).to.deep.equal(['rotate-logs']);
    expect(await names('status=failed')).to.deep.equal(['rotate-logs']);
    expect(await names('status=disabled')).to.deep.equal(['notify-me']);
    expect(await names('status=never_run&tag=db')).to.deep.equal(['backup']);
    await api.post('/api/v1/jobs/notify-me/enable');
  });

  it('pages the job list with a cursor and a Link header that keeps the filters', async () => {
    const seen: string[] = [];
    let path: string | null = '/api/v1/jobs?tag=paged&limit=7';
    while (path) {
      const reply = await api.get(path);
      seen.push(...reply.json.jobs.map((j: { name: string }) => j.name));
      path = nextPath(reply.headers.get('link'));
      expect(reply.json.next_cursor === null).to.equal(path === null);
      if (path) expect(path).to.match(/^\/api\/v1\/jobs\?tag=paged&limit=7&cursor=/);
    }
    expect(seen).to.deep.equal(Array.from({ length: 25 }, (_, i) => `page-${String(i).padStart(2, '0')}`));
  });

  it('rejects an unknown jobs filter value', async () => {
    const reply = await api.get('/api/v1/jobs?status=sleepy');
    expect([reply.status, reply.json.error.details.parameter]).to.deep.equal([400, 'status']);
  });

  it('shows a job with its definition but never a webhook secret', async () => {
    const reply = await api.get('/api/v1/jobs/notify-me');
    expect(reply.status).to.equal(200);
    expect(reply.json.definition.notify.webhooks[0]).to.include({
      has_secret: true,
      url: 'http://127.0.0.1:9/hook',
    });
    expect(reply.text).to.not.include('hook-secret-value');
    expect((await api.get('/api/v1/jobs?limit=1000')).text).to.not.include('hook-secret-value');
  });

  it('answers 404 for a job that does not exist', async () => {
    const reply = await api.get('/api/v1/jobs/nope');
    expect([reply.status, reply.json.error.code]).to.deep.equal([404, 'not_found']);
  });

  it('creates a job with PUT (201), replaces it (200) and deletes it (204, then 404)', async () => {
    const body = { policy: WEB, command: ['echo', 'hi'] };
    const created = await api.put('/api/v1/jobs/fresh', body);
    expect([created.status, created.json.created, created.json.job.name]).to.deep.equal([201, true, 'fresh']);
    const replaced = await api.put('/api/v1/jobs/fresh', { ...body, command: ['echo', 'again'] });
    expect([replaced.status, replaced.json.created]).to.deep.equal([200, false]);
    expect(replaced.json.job.definition.command).to.deep.equal(['echo', 'again']);
    expect((await api.delete('/api/v1/jobs/fresh')).status).to.equal(204);
    expect((await api.delete('/api/v1/jobs/fresh')).status).to.equal(404);
  });

  it('answers 400 with the validation problems when the definition is invalid, writing nothing', async () => {
    const reply = await api.put('/api/v1/jobs/broken', { shell: 'oops' });
    expect([reply.status, reply.json.error.code]).to.deep.equal([400, 'invalid_job']);
    expect(reply.json.error.details.problems[0]).to.include({ severity: 'error' });
    expect(existsSync(join(t.env.jobsDir, 'broken.json'))).to.equal(false);
  });

  it('answers 400 for a PUT whose body is an array or missing', async () => {
    expect((await api.put('/api/v1/jobs/x', [1, 2])).json.error.code).to.equal('invalid_body');
    expect((await api.call('PUT', '/api/v1/jobs/x')).json.error.code).to.equal('missing_body');
  });

  it('starts a manual run on the node asked for: 202 with the execution and run ids and a Location', async () => {
    const reply = await api.post('/api/v1/jobs/sleepy/run', { node: 'web1' });
    expect(reply.status).to.equal(202);
    expect(reply.json.run_ids).to.have.length(1);
    const id = reply.json.run_ids[0];
    expect(reply.headers.get('location')).to.equal(`/api/v1/runs/${id}`);
    expect((await api.get(`/api/v1/runs/${id}`)).json).to.include({ job: 'sleepy', node: 'web1' });
    expect((await api.post(`/api/v1/runs/${id}/cancel`)).status).to.equal(202);
  });

  it('starts a run without any body (JSON content type, empty body)', async () => {
    expect((await api.call('POST', '/api/v1/jobs/backup/run')).status).to.equal(202);
  });

  it('refuses a run request with unknown fields, listing them', async () => {
    const unknown = await api.post('/api/v1/jobs/backup/run', { node: 'web1', env: {}, extra: 1 });
    expect(unknown.status).to.equal(400);
    expect(unknown.json.error.details.unknown_fields).to.deep.equal(['env', 'extra']);
  });

  it('refuses parameters the job does not declare, naming the parameter, and runs nothing', async () => {
    const before = t.runsOf('backup').length;
    for (const body of [{ parameters: { LD_PRELOAD: '/tmp/x.so' } }, { environment: { PATH: '/tmp' } }]) {
      const reply = await api.post('/api/v1/jobs/backup/run', body);
      expect(reply.status).to.equal(400);
      expect(reply.json.error.message).to.match(/LD_PRELOAD|PATH/);
    }
    expect(t.runsOf('backup')).to.have.length(before);
  });

  it('answers 404 for an unknown job, and 400 naming an unknown node of the request', async () => {
    expect((await api.post('/api/v1/jobs/nope/run', {})).status).to.equal(404);
    const node = await api.post('/api/v1/jobs/backup/run', { nodes: ['nowhere'] });
    expect([node.status, node.json.error.message]).to.deep.equal([400, 'no such node: nowhere']);
  });

  it('disables and enables a job, showing the override', async () => {
    const off = await api.post('/api/v1/jobs/backup/disable');
    expect(off.json).to.include({ enabled: false, enabled_override: false });
    const on = await api.post('/api/v1/jobs/backup/enable', {});
    expect(on.json).to.include({ enabled: true, enabled_override: true });
    expect((await api.post('/api/v1/jobs/backup/enable', { force: true })).status).to.equal(400);
    expect((await api.post('/api/v1/jobs/nope/disable')).status).to.equal(404);
  });

  it("lists one job's runs, newest first, without output", async () => {
    const reply = await api.get('/api/v1/jobs/rotate-logs/runs');
    expect(reply.json.runs.map((r: { id: string }) => r.id)).to.deep.equal([failedId]);
    expect(reply.json.runs[0]).to.not.have.property('stdout');
    expect((await api.get('/api/v1/jobs/rotate-logs/runs?job=other')).status).to.equal(400);
    expect((await api.get('/api/v1/jobs/nope/runs')).status).to.equal(404);
  });
});
