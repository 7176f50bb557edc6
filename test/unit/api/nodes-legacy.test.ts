import { expect } from 'chai';
import { goDuration } from '../../../src/api/routes-legacy.js';
import { isoUtc } from '../../../src/core/types.js';
import type { ApiCaller } from './http.js';
import { parseExposition, SPEC_METRICS } from './prometheus.js';
import { startTestApi, type TestApi } from './setup.js';
import { testJob, testNode, testRun } from './test-control.js';

describe('api nodes, config errors, health and metrics', () => {
  let t: TestApi;
  let api: ApiCaller;
  before(async () => {
    t = await startTestApi();
    api = t.as();
    t.control.nodes.set('web1', testNode('web1'));
    t.control.nodes.set('db1', testNode('db1', false));
    t.control.problems = [
      {
        file: '/jobs.d/bad.json',
        line: 3,
        column: 14,
        path: '$.schedule',
        message: 'bad cron',
        severity: 'error',
      },
      {
        file: '/jobs.d/bad.json',
        line: 5,
        column: 2,
        path: '$.tags',
        message: 'not an array',
        severity: 'error',
      },
      { file: '/nodes.d/x.json', line: 1, column: 1, path: '$', message: 'old field', severity: 'warning' },
    ];
  });
  after(() => t.close());

  it('lists nodes with up/down, runs in flight and the last error', async () => {
    const reply = await api.get('/api/v1/nodes');
    const db1 = reply.json.nodes.find((n: { name: string }) => n.name === 'db1');
    expect(db1).to.deep.include({ status: 'down', runs_in_flight: 0, roles: ['web'] });
    expect(db1.health.last_error).to.equal('ssh: connect ECONNREFUSED');
  });

  it('shows one node, and 404 for an unknown one', async () => {
    expect((await api.get('/api/v1/nodes/web1')).json).to.include({ name: 'web1', status: 'up' });
    expect((await api.get('/api/v1/nodes/nope')).status).to.equal(404);
  });

  it('lists every config problem with file, line, column and message', async () => {
    const reply = await api.get('/api/v1/config/errors');
    expect(reply.json.errors).to.have.length(3);
    expect(reply.json.errors[0]).to.deep.equal({
      file: '/jobs.d/bad.json',
      line: 3,
      column: 14,
      path: '$.schedule',
      message: 'bad cron',
      severity: 'error',
    });
  });

  it('answers /healthz', async () => {
    expect((await api.get('/healthz')).json).to.deep.equal({ status: 'ok' });
  });

  it('serves Prometheus metrics with every SPEC §13 metric, gauges reflecting current state', async () => {
    t.control.metrics.runsTotal.inc({ job: 'backup', status: 'failed' });
    const reply = await api.get('/metrics');
    expect(reply.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    const { types, samples } = parseExposition(reply.text);
    for (const [name, type] of Object.entries(SPEC_METRICS)) expect(types.get(name), name).to.equal(type);
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;
    expect(value('distcron_runs_total', { job: 'backup', status: 'failed' })).to.equal(1);
    expect(value('distcron_nodes_up')).to.equal(1);
    expect(value('distcron_nodes_down')).to.equal(1);
    expect(value('distcron_config_errors')).to.equal(1); // one file failing; warnings do not count
    expect(value('distcron_outbox_backlog', { sink: 'elasticsearch' })).to.equal(0);
  });
});

describe("api distcrond's read routes", () => {
  let t: TestApi;
  let api: ApiCaller;
  before(async () => {
    t = await startTestApi();
    api = t.as();
    t.control.jobs.set('backup', testJob('backup', { description: 'dump' }));
    t.control.jobs.set(
      'hosts-job',
      testJob('hosts-job', {
        command: { kind: 'shell', script: 'echo hi' },
        policy: { select: 'all', hosts: ['web1'], rolesMatch: 'any', labels: {}, placement: 'least_loaded' },
      }),
    );
    t.control.nodes.set('web1', testNode('web1'));
    const start = Date.parse('2026-11-26T09:00:00.000Z');
    const a = testRun('backup', {
      started_at: isoUtc(start),
      finished_at: isoUtc(start + 1500),
      stdout: 'a',
    });
    const b = testRun('backup', {
      execution_id: a.execution_id,
      node: 'web2',
      status: 'failed',
      started_at: isoUtc(start + 10),
      finished_at: isoUtc(start + 2500),
      stdout: 'b',
      stderr: '!',
    });
    t.control.store.importRuns([a, b]);
  });
  after(() => t.close());

  it('lists jobs in distcrond shape with hrefs to the job and its reports', async () => {
    const reply = await api.get('/jobs');
    const [backup, hosts] = reply.json;
    const base = new URL(t.api.url).host;
    expect(backup).to.deep.include({
      name: 'backup',
      href: `http://${base}/jobs/backup`,
      description: 'dump',
      execution_policy: { select: 'any', roles: ['web'] },
      command: ['true'],
      last_execution: null,
      next_execution: null,
    });
    expect(backup.links).to.deep.equal([{ href: `http://${base}/jobs/backup/reports`, rel: 'reports' }]);
    expect(hosts.execution_policy).to.deep.equal({ select: 'all', hosts: ['web1'] });
    expect(hosts.command).to.deep.equal(['/bin/sh', '-c', 'echo hi']);
  });

  it('shows one job, and 404 for an unknown one', async () => {
    expect((await api.get('/jobs/backup')).json.name).to.equal('backup');
    expect((await api.get('/jobs/nope')).status).to.equal(404);
  });

  it("groups a job's runs into one distcrond report per execution", async () => {
    const reply = await api.get('/jobs/backup/reports');
    expect(reply.json).to.have.length(1);
    const [report] = reply.json;
    expect(report).to.deep.include({ job: 'backup', success: false });
    expect(report.time).to.deep.equal({
      start: '2026-11-26T09:00:00.000Z',
      stop: '2026-11-26T09:00:02.500Z',
    });
    expect(report.duration).to.deep.equal({ milliseconds: 2500, string: '2.5s' });
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
        href: `http://${new URL(t.api.url).host}/nodes/web1`,
        roles: ['web'],
        status: 'up',
        running_jobs: 0,
      },
    ]);
    expect((await api.get('/nodes/web1')).json.name).to.equal('web1');
    expect((await api.get('/nodes/nope')).status).to.equal(404);
  });

  it('links to /jobs and /nodes from the root', async () => {
    expect((await api.get('/')).json.links.map((l: { rel: string }) => l.rel)).to.deep.equal([
      'jobs',
      'nodes',
    ]);
  });

  it("formats durations like Go's time.Duration", () => {
    expect([0, 250, 1000, 2500, 90_500, 7_200_000].map(goDuration)).to.deep.equal([
      '0s',
      '250ms',
      '1s',
      '2.5s',
      '1m30.5s',
      '2h0m0s',
    ]);
  });
});
