import { expect } from 'chai';
import { startTestApi, type TestApi } from './setup.js';
import { testJob, testNode, testRun } from './test-control.js';
import type { ApiCaller } from './http.js';

describe('api jobs routes', () => {
  let t: TestApi;
  let api: ApiCaller;

  beforeEach(async () => {
    t = await startTestApi();
    api = t.as();
    const { jobs } = t.control;
    jobs.set('backup', testJob('backup', { tags: ['db', 'nightly'], description: 'Nightly database dump' }));
    jobs.set('rotate-logs', testJob('rotate-logs', { tags: ['logs'] }));
    jobs.set(
      'notify-me',
      testJob('notify-me', {
        notify: {
          on: ['failure'],
          email: [],
          webhooks: [{ url: 'http://127.0.0.1:9/hook', format: 'json', secret: 'hook-secret-value' }],
        },
      }),
    );
  });
  afterEach(() => t.close());

  it('lists jobs sorted by name', async () => {
    const reply = await api.get('/api/v1/jobs');
    expect(reply.status).to.equal(200);
    expect(reply.json.jobs.map((j: { name: string }) => j.name)).to.deep.equal([
      'backup',
      'notify-me',
      'rotate-logs',
    ]);
    expect(reply.json.next_cursor).to.equal(null);
    expect(reply.headers.get('link')).to.equal(null);
  });

  it('filters jobs by tag, by text in name or description, and by state', async () => {
    const failed = testRun('rotate-logs', { status: 'failed', exit_code: 2 });
    t.control.store.insertRun({ ...failed, status: 'running' });
    t.control.store.finishRun(failed, []);
    t.control.setJobEnabled('notify-me', false);
    const names = async (query: string) =>
      (await api.get(`/api/v1/jobs?${query}`)).json.jobs.map((j: { name: string }) => j.name);
    expect(await names('tag=db')).to.deep.equal(['backup']);
    expect(await names('q=DATABASE')).to.deep.equal(['backup']);
    expect(await names('q=rotate')).to.deep.equal(['rotate-logs']);
    expect(await names('status=failed')).to.deep.equal(['rotate-logs']);
    expect(await names('status=disabled')).to.deep.equal(['notify-me']);
    expect(await names('status=never_run')).to.deep.equal(['backup', 'notify-me']);
  });

  it('pages the job list with a cursor and a Link header', async () => {
    for (let i = 0; i < 25; i++) {
      const name = `job-${String(i).padStart(2, '0')}`;
      t.control.jobs.set(name, testJob(name));
    }
    const seen: string[] = [];
    let path: string | null = '/api/v1/jobs?limit=7';
    while (path) {
      const reply = await api.get(path);
      seen.push(...reply.json.jobs.map((j: { name: string }) => j.name));
      const link = reply.headers.get('link');
      path = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1]! : null;
      expect(reply.json.next_cursor === null).to.equal(link === null);
    }
    expect(seen).to.have.length(28);
    expect(new Set(seen).size).to.equal(28);
  });

  it('builds views only for the page it returns', async () => {
    for (let i = 0; i < 25; i++) {
      const name = `job-${String(i).padStart(2, '0')}`;
      t.control.jobs.set(name, testJob(name));
    }
    t.control.viewsBuilt = 0;
    expect((await api.get('/api/v1/jobs?limit=7')).json.jobs).to.have.length(7);
    expect(t.control.viewsBuilt).to.equal(7);
  });

  for (const fastPath of [true, false]) {
    it(`pages a status-filtered list the same ${fastPath ? 'with' : 'without'} the definitions fast path`, async () => {
      if (!fastPath) t.control.jobDefinitions = undefined;
      for (let i = 0; i < 600; i++) {
        const name = `job-${String(i).padStart(3, '0')}`;
        t.control.jobs.set(name, testJob(name));
        if (i % 3 === 0) t.control.setJobEnabled(name, false);
      }
      const seen: string[] = [];
      let path: string | null = '/api/v1/jobs?status=disabled&limit=45';
      while (path) {
        const reply = await api.get(path);
        seen.push(...reply.json.jobs.map((j: { name: string; enabled: boolean }) => j.name));
        const link = reply.headers.get('link');
        path = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1]! : null;
      }
      const expected = Array.from({ length: 200 }, (_, k) => `job-${String(k * 3).padStart(3, '0')}`);
      expect(seen).to.deep.equal(expected);
    });
  }

  it('rejects an unknown jobs filter value', async () => {
    const reply = await api.get('/api/v1/jobs?status=sleepy');
    expect(reply.status).to.equal(400);
    expect(reply.json.error.details.parameter).to.equal('status');
  });

  it('shows a job with its definition but never a webhook secret', async () => {
    const reply = await api.get('/api/v1/jobs/notify-me');
    expect(reply.status).to.equal(200);
    expect(reply.json.definition.notify.webhooks[0]).to.include({
      has_secret: true,
      url: 'http://127.0.0.1:9/hook',
    });
    expect(reply.text).to.not.include('hook-secret-value');
    const list = await api.get('/api/v1/jobs');
    expect(list.text).to.not.include('hook-secret-value');
  });

  it('answers 404 for a job that does not exist', async () => {
    const reply = await api.get('/api/v1/jobs/nope');
    expect(reply.status).to.equal(404);
    expect(reply.json.error.code).to.equal('not_found');
  });

  it('creates a job with PUT (201), replaces it (200) and deletes it (204, then 404)', async () => {
    const created = await api.put('/api/v1/jobs/fresh', { command: ['echo', 'hi'] });
    expect([created.status, created.json.created, created.json.job.name]).to.deep.equal([201, true, 'fresh']);
    const replaced = await api.put('/api/v1/jobs/fresh', { command: ['echo', 'again'] });
    expect([replaced.status, replaced.json.created]).to.deep.equal([200, false]);
    expect(replaced.json.job.definition.command).to.deep.equal(['echo', 'again']);
    expect((await api.delete('/api/v1/jobs/fresh')).status).to.equal(204);
    expect((await api.delete('/api/v1/jobs/fresh')).status).to.equal(404);
  });

  it('answers 400 with the validation problems when the definition is invalid', async () => {
    const reply = await api.put('/api/v1/jobs/broken', { shell: 'oops' });
    expect(reply.status).to.equal(400);
    expect(reply.json.error.code).to.equal('invalid_job');
    expect(reply.json.error.message).to.include('command is required');
    expect(reply.json.error.details.problems[0]).to.include({ path: '$', line: 1, severity: 'error' });
    expect(t.control.jobs.has('broken')).to.equal(false);
  });

  it('answers 400 for a PUT whose body is an array or missing', async () => {
    expect((await api.put('/api/v1/jobs/x', [1, 2])).json.error.code).to.equal('invalid_body');
    expect((await api.call('PUT', '/api/v1/jobs/x')).json.error.code).to.equal('missing_body');
  });

  it('starts a manual run: 202 with the execution and run ids and a Location', async () => {
    t.control.nodes.set('web1', testNode('web1'));
    const reply = await api.post('/api/v1/jobs/backup/run', { node: 'web1', environment: { EXTRA: '1' } });
    expect(reply.status).to.equal(202);
    expect(reply.json.run_ids).to.have.length(1);
    expect(reply.headers.get('location')).to.equal(`/api/v1/runs/${reply.json.run_ids[0]}`);
    const run = await api.get(`/api/v1/runs/${reply.json.run_ids[0]}`);
    expect(run.json).to.include({ job: 'backup', status: 'running', node: 'web1' });
  });

  it('starts a run without any body', async () => {
    expect((await api.call('POST', '/api/v1/jobs/backup/run')).status).to.equal(202);
  });

  it('refuses a run request with unknown fields, listing them, or bad environment names', async () => {
    const unknown = await api.post('/api/v1/jobs/backup/run', { node: 'web1', hosts: ['x'], env: {} });
    expect(unknown.status).to.equal(400);
    expect(unknown.json.error.details.unknown_fields).to.deep.equal(['hosts', 'env']);
    const env = await api.post('/api/v1/jobs/backup/run', { environment: { 'BAD-NAME': 'x', OK: 1 } });
    expect(env.status).to.equal(400);
    expect(env.json.error.details.invalid_keys).to.deep.equal(['BAD-NAME', 'OK']);
  });

  it('answers 404 when running an unknown job or on an unknown node', async () => {
    expect((await api.post('/api/v1/jobs/nope/run', {})).status).to.equal(404);
    const node = await api.post('/api/v1/jobs/backup/run', { node: 'nowhere' });
    expect([node.status, node.json.error.message]).to.deep.equal([404, 'node nowhere does not exist']);
  });

  it('disables and enables a job, showing the override', async () => {
    const off = await api.post('/api/v1/jobs/backup/disable');
    expect(off.json).to.include({ enabled: false, enabled_override: false });
    const on = await api.post('/api/v1/jobs/backup/enable', {});
    expect(on.json).to.include({ enabled: true, enabled_override: true });
    expect((await api.post('/api/v1/jobs/backup/enable', { force: true })).status).to.equal(400);
    expect((await api.post('/api/v1/jobs/nope/disable')).status).to.equal(404);
  });

  it("lists one job's runs, newest first", async () => {
    const first = testRun('backup');
    const second = testRun('backup', { status: 'failed', exit_code: 1 });
    t.control.store.insertRun(first);
    t.control.store.insertRun(second);
    t.control.store.insertRun(testRun('rotate-logs'));
    const reply = await api.get('/api/v1/jobs/backup/runs');
    expect(reply.json.runs.map((r: { id: string }) => r.id)).to.deep.equal([second.id, first.id]);
    expect(reply.json.runs[0]).to.not.have.property('stdout');
    expect((await api.get('/api/v1/jobs/backup/runs?job=other')).status).to.equal(400);
    expect((await api.get('/api/v1/jobs/nope/runs')).status).to.equal(404);
  });
});
