import { expect } from 'chai';
import { isoUtc, type RunRecord, type RunStatus, type Trigger } from '../../../src/core/types.js';
import { eventually } from './api-daemon.js';
import { fakeRun } from '../../harness/runs.js';
import type { ApiCaller } from '../../unit/api/http.js';
import { LOCAL_NODE, nextPath, QUICK_JOB, SLEEPY_JOB, TestApi } from './test-api.js';

const T0 = Date.parse('2026-11-20T00:00:00.000Z');
const STATUSES: RunStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled'];
const TRIGGERS: Trigger[] = ['schedule', 'manual', 'retry'];

/** 1,234 runs over 4 jobs and 3 nodes, one minute apart, with ids in time order. */
function fixtureRuns(): RunRecord[] {
  return Array.from({ length: 1234 }, (_, i) =>
    fakeRun({
      job: `job-${i % 4}`,
      stdout: 'hello\n',
      node: `node-${i % 3}`,
      status: STATUSES[i % STATUSES.length],
      trigger: TRIGGERS[i % TRIGGERS.length],
      started_at: isoUtc(T0 + i * 60_000),
    }),
  );
}

async function collect(api: ApiCaller, first: string): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let pages = 0;
  let path: string | null = first;
  while (path) {
    const reply = await api.get(path);
    expect(reply.status, path).to.equal(200);
    ids.push(...reply.json.runs.map((r: { id: string }) => r.id));
    pages++;
    path = nextPath(reply.headers.get('link'));
  }
  return { ids, pages };
}

describe('api runs routes on a real daemon', function () {
  this.timeout(60_000);
  let t: TestApi;
  let api: ApiCaller;
  const runs = fixtureRuns();

  before(async () => {
    const jobs = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`job-${i}`, QUICK_JOB]));
    t = await TestApi.start({ nodes: { web1: LOCAL_NODE }, jobs, runs });
    api = t.as();
  });
  after(() => t.close());

  it('pages through all runs following Link headers, visiting each run exactly once, newest first', async () => {
    const { ids, pages } = await collect(api, '/api/v1/runs?limit=100');
    expect(pages).to.equal(13);
    expect(ids).to.deep.equal(runs.map((r) => r.id).reverse());
  });

  it('pages through a filtered list with the filters kept in the Link', async () => {
    const query = 'job=job-1&status=failed&trigger=manual&limit=7';
    const { ids } = await collect(api, `/api/v1/runs?${query}`);
    const expected = runs.filter((r) => r.job === 'job-1' && r.status === 'failed' && r.trigger === 'manual');
    expect(expected.length).to.be.greaterThan(14);
    expect(ids).to.deep.equal(expected.map((r) => r.id).reverse());
  });

  it('filters by node and by a time window', async () => {
    const since = isoUtc(T0 + 100 * 60_000);
    const until = isoUtc(T0 + 200 * 60_000);
    const { ids } = await collect(api, `/api/v1/runs?node=node-2&since=${since}&until=${until}&limit=1000`);
    const expected = runs.filter(
      (r) => r.node === 'node-2' && r.started_at! >= since && r.started_at! < until,
    );
    expect(ids).to.deep.equal(expected.map((r) => r.id).reverse());
  });

  it('leaves the output out of lists and returns it with a single run', async () => {
    const list = await api.get('/api/v1/runs?limit=1');
    expect(list.json.runs[0]).to.not.have.property('stdout');
    const one = await api.get(`/api/v1/runs/${list.json.runs[0].id}`);
    expect(one.json).to.include({ stdout: 'hello\n', stderr: '' });
  });

  const badQueries: [string, string][] = [
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=ten', 'limit'],
    ['status=exploded', 'status'],
    ['trigger=cron', 'trigger'],
    ['since=yesterday', 'since'],
    ['until=2026-13-45T99:00:00Z', 'until'],
  ];
  for (const [query, parameter] of badQueries) {
    it(`answers 400 naming the parameter for ${query}`, async () => {
      const reply = await api.get(`/api/v1/runs?${query}`);
      expect(reply.status).to.equal(400);
      expect(reply.json.error.details.parameter).to.equal(parameter);
    });
  }

  it('answers 400 for a cursor it did not hand out, a repeated or an unknown parameter', async () => {
    const cursor = await api.get('/api/v1/runs?cursor=bm90LWEtY3Vyc29y');
    expect(cursor.status).to.equal(400);
    expect(cursor.json.error.message).to.match(/^api: invalid cursor/);
    expect((await api.get('/api/v1/runs?job=a&job=b')).json.error.details.parameter).to.equal('job');
    expect((await api.get('/api/v1/runs?jobs=a')).json.error.details.unknown_fields).to.deep.equal(['jobs']);
    const both = await api.get('/api/v1/runs?job=a&job=b&jobs=a&nodes=b');
    expect([both.json.error.code, both.json.error.details.unknown_fields]).to.deep.equal([
      'unknown_parameters',
      ['jobs', 'nodes'],
    ]);
  });

  it('answers 404 for an unknown run id and 400 for an id that cannot be one', async () => {
    expect((await api.get('/api/v1/runs/01ZZZZZZZZZZZZZZZZZZZZZZZZ')).status).to.equal(404);
    expect((await api.get('/api/v1/runs/a%20b')).json.error.code).to.equal('invalid_id');
  });
});

describe('api run cancellation on a real daemon', function () {
  this.timeout(60_000);
  let t: TestApi;
  before(async () => {
    t = await TestApi.start({ nodes: { web1: LOCAL_NODE }, jobs: { sleepy: SLEEPY_JOB } });
  });
  after(() => t.close());

  it('cancels a running run (202), then answers 409 because it is no longer running', async () => {
    const api = t.as();
    const started = await api.post('/api/v1/jobs/sleepy/run', {});
    const id = started.json.run_ids[0];
    const cancel = await api.post(`/api/v1/runs/${id}/cancel`);
    expect(cancel.status).to.equal(202);
    expect(cancel.json).to.deep.equal({ id, job: 'sleepy', cancel_requested: true });
    const final = await eventually(async () => {
      const run = (await api.get(`/api/v1/runs/${id}`)).json;
      return run.status === 'running' ? undefined : run;
    });
    expect(final.status).to.equal('cancelled');
    expect(t.runsOf('sleepy').map((r) => r.status)).to.deep.equal(['cancelled']);
    const again = await api.post(`/api/v1/runs/${id}/cancel`, {});
    expect([again.status, again.json.error.code, again.json.error.details.status]).to.deep.equal([
      409,
      'not_running',
      'cancelled',
    ]);
  });

  it('answers 404 when cancelling a run that does not exist', async () => {
    expect((await t.as().post('/api/v1/runs/01ZZZZZZZZZZZZZZZZZZZZZZZZ/cancel')).status).to.equal(404);
  });
});
