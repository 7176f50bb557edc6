import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { openApiDocument } from '../../../src/api/openapi.js';
import { runValidate } from '../../../src/cli/validate.js';
import { parseExposition, SPEC_METRICS } from '../../unit/api/prometheus.js';
import type { ApiCaller } from '../../unit/api/http.js';
import { ApiDaemon, eventually } from './api-daemon.js';

const LOCAL_NODE = { roles: ['local'], connection_type: 'local', max_concurrent_runs: 4 };
const HELLO = {
  description: 'say hello',
  policy: { select: 'any', roles: ['local'] },
  shell_command: 'echo "hello $WHO"; echo oops >&2',
  parameters: { WHO: { default: 'world' } },
  tags: ['greeting'],
};
const SLEEPY = { policy: { select: 'any', roles: ['local'] }, command: ['sleep', '30'] };

async function finalRun(api: ApiCaller, id: string) {
  return eventually(async () => {
    const reply = await api.get(`/api/v1/runs/${id}`);
    return reply.json.status === 'running' ? undefined : reply.json;
  });
}

describe('REST API on a real daemon', function () {
  this.timeout(60_000);
  const d = new ApiDaemon();
  let api: ApiCaller;

  before(async () => {
    d.env.writeNode('local', LOCAL_NODE);
    d.env.writeJob('hello', HELLO);
    d.env.writeJob('sleepy', SLEEPY);
    await d.start();
    api = d.as();
  });
  after(() => d.cleanup());

  it('writes a job file atomically with PUT, shows it at once, and removes it with DELETE', async () => {
    const created = await api.put('/api/v1/jobs/via-api', { ...HELLO, description: 'from the API' });
    expect(created.status).to.equal(201);
    const file = join(d.env.jobsDir, 'via-api.json');
    expect(JSON.parse(readFileSync(file, 'utf8')).description).to.equal('from the API');
    expect(readdirSync(d.env.jobsDir).filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
    expect((await api.get('/api/v1/jobs/via-api')).json.description).to.equal('from the API');
    expect((await api.put('/api/v1/jobs/via-api', HELLO)).status).to.equal(200);
    expect((await api.delete('/api/v1/jobs/via-api')).status).to.equal(204);
    expect(existsSync(file)).to.equal(false);
    expect((await api.get('/api/v1/jobs/via-api')).status).to.equal(404);
  });

  it('refuses an invalid job with the validation problems and writes nothing', async () => {
    const reply = await api.put('/api/v1/jobs/broken', {
      policy: { select: 'some' },
      command: 'not-an-array',
    });
    expect(reply.status).to.equal(400);
    expect(reply.json.error.code).to.equal('invalid_job');
    const problems = reply.json.error.details.problems;
    expect(problems.length).to.be.greaterThan(0);
    for (const p of problems) expect(p).to.have.keys('file', 'line', 'column', 'path', 'message', 'severity');
    expect(existsSync(join(d.env.jobsDir, 'broken.json'))).to.equal(false);
  });

  it('reports the same problems, line for line, as distcron validate on the same file', async () => {
    const body = { policy: { select: 'some', roles: ['local'] }, command: ['true'], schedule: '61 * * * *' };
    const reply = await api.put('/api/v1/jobs/checked', body);
    expect(reply.status).to.equal(400);
    const dir = mkdtempSync(join(tmpdir(), 'distcron-validate-'));
    try {
      mkdirSync(join(dir, 'jobs.d'));
      cpSync(d.env.nodesDir, join(dir, 'nodes.d'), { recursive: true });
      writeFileSync(join(dir, 'jobs.d', 'checked.json'), `${JSON.stringify(body, null, 2)}\n`);
      const lines: string[] = [];
      const options = {
        jobsDir: join(dir, 'jobs.d'),
        nodesDir: join(dir, 'nodes.d'),
        defaultTimezone: 'UTC',
      };
      expect(await runValidate({ ...options, out: (l) => lines.push(l) })).to.equal(1);
      const fromApi = reply.json.error.details.problems.map(
        (p: { line: number; column: number; message: string }) => `${p.line}:${p.column}: ${p.message}`,
      );
      const fromCli = lines
        .filter((l) => l.includes('checked.json:'))
        .map((l) => l.replace(/^.*checked\.json:/, ''));
      expect(fromApi).to.deep.equal(fromCli);
      expect(fromApi.length).to.be.greaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses names that could escape jobs.d and writes nothing', async () => {
    for (const name of ['..%2Fescape', '.hidden', 'a%5Cb', 'x'.repeat(129), 'nul%00']) {
      expect((await api.put(`/api/v1/jobs/${name}`, HELLO)).status, name).to.equal(400);
    }
    expect(readdirSync(d.env.jobsDir).sort()).to.deep.equal(['hello.json', 'sleepy.json']);
    expect(readdirSync(d.dir).sort()).to.deep.equal(['data', 'jobs.d', 'nodes.d']);
  });

  it('runs a job manually with a parameter given as legacy environment and returns its output', async () => {
    const started = await api.post('/api/v1/jobs/hello/run', { environment: { WHO: 'api' }, node: 'local' });
    expect(started.status).to.equal(202);
    const run = await finalRun(api, started.json.run_ids[0]);
    expect(run).to.include({ status: 'succeeded', exit_code: 0, trigger: 'manual', node: 'local' });
    expect([run.stdout, run.stderr]).to.deep.equal(['hello api\n', 'oops\n']);
    expect((await api.get('/api/v1/jobs/hello')).json.last_run.id).to.equal(run.id);
    expect((await api.get('/api/v1/jobs/hello/runs')).json.runs[0].id).to.equal(run.id);
  });

  it('cancels a running local run, then answers 409', async () => {
    const started = await api.post('/api/v1/jobs/sleepy/run');
    const id = started.json.run_ids[0];
    await eventually(async () =>
      (await api.get('/api/v1/jobs/sleepy')).json.running > 0 ? true : undefined,
    );
    expect((await api.get('/api/v1/nodes/local')).json.runs_in_flight).to.equal(1);
    expect((await api.post(`/api/v1/runs/${id}/cancel`)).status).to.equal(202);
    const run = await finalRun(api, id);
    expect(run.status).to.equal('cancelled');
    expect((await api.post(`/api/v1/runs/${id}/cancel`)).status).to.equal(409);
  });

  it('shows each change of a job in the job list at once: running, last run, enabled', async () => {
    const listed = async () =>
      (await api.get('/api/v1/jobs')).json.jobs.find((j: { name: string }) => j.name === 'sleepy');
    const before = await listed();
    expect(await listed()).to.deep.equal(before);
    const id = (await api.post('/api/v1/jobs/sleepy/run')).json.run_ids[0];
    await eventually(async () => ((await listed()).running === 1 ? true : undefined));
    await api.post(`/api/v1/runs/${id}/cancel`);
    const after = await eventually(async () => {
      const job = await listed();
      return job.running === 0 && job.last_run?.id === id ? job : undefined;
    });
    expect(after.last_run).to.include({ id, status: 'cancelled' });
    expect((await api.post('/api/v1/jobs/sleepy/disable')).status).to.equal(200);
    expect(await listed()).to.include({ enabled: false, enabled_override: false });
    expect((await api.post('/api/v1/jobs/sleepy/enable')).status).to.equal(200);
    expect(await listed()).to.include({ enabled: true, enabled_override: true });
  });

  it('shows nodes with up/down, runs in flight and last error', async () => {
    const reply = await api.get('/api/v1/nodes');
    expect(reply.json.nodes).to.have.length(1);
    expect(reply.json.nodes[0]).to.deep.include({ name: 'local', connection_type: 'local', status: 'up' });
    expect(reply.json.nodes[0].health.last_error).to.equal(null);
  });

  it('lists a broken file under /config/errors with its location', async () => {
    writeFileSync(join(d.env.jobsDir, 'typo.json'), '{\n  "command": ["true"],\n  "schedul": "@daily"\n}\n');
    await d.daemon.reload();
    const errors = (await api.get('/api/v1/config/errors')).json.errors;
    const typo = errors.find((e: { file: string }) => e.file.endsWith('typo.json'));
    expect(typo).to.not.equal(undefined);
    expect(typo.line).to.be.greaterThan(0);
    expect(typo.message).to.be.a('string').and.not.equal('');
  });

  it('lists jobs with filters', async () => {
    const tagged = await api.get('/api/v1/jobs?tag=greeting');
    expect(tagged.json.jobs.map((j: { name: string }) => j.name)).to.deep.equal(['hello']);
    const text = await api.get('/api/v1/jobs?q=HELLO&status=succeeded');
    expect(text.json.jobs.map((j: { name: string }) => j.name)).to.deep.equal(['hello']);
  });

  it('filters and pages runs', async () => {
    for (let i = 0; i < 3; i++)
      await finalRun(api, (await api.post('/api/v1/jobs/hello/run')).json.run_ids[0]);
    const page = await api.get('/api/v1/runs?job=hello&status=succeeded&trigger=manual&limit=2');
    expect(page.json.runs).to.have.length(2);
    expect(page.headers.get('link')).to.match(
      /^<\/api\/v1\/runs\?job=hello&status=succeeded&trigger=manual&limit=2&cursor=/,
    );
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const window = await api.get(`/api/v1/runs?node=local&since=${since}&until=${new Date().toISOString()}`);
    expect(window.json.runs.length).to.be.greaterThan(3);
  });

  it('serves metrics with the SPEC §13 names, counting finished runs by status (no job label)', async () => {
    const { types, samples } = parseExposition((await api.get('/metrics')).text);
    for (const [name, type] of Object.entries(SPEC_METRICS)) expect(types.get(name), name).to.equal(type);
    const succeeded = samples.find(
      (s) => s.name === 'distcron_runs_total' && s.labels.status === 'succeeded',
    );
    expect(succeeded?.value).to.be.greaterThan(0);
    expect(samples.filter((s) => s.labels.job !== undefined)).to.deep.equal([]);
    expect(samples.find((s) => s.name === 'distcron_nodes_up')?.value).to.equal(1);
  });

  it("serves distcrond's read routes", async () => {
    expect((await api.get('/')).status).to.equal(200);
    expect((await api.get('/jobs')).json.map((j: { name: string }) => j.name)).to.include('hello');
    expect((await api.get('/jobs/hello')).json.command).to.deep.equal(['/bin/sh', '-c', HELLO.shell_command]);
    const reports = (await api.get('/jobs/hello/reports')).json;
    expect(reports.length).to.be.greaterThan(0);
    expect(reports[0].items[0].output).to.match(/^hello/);
    expect((await api.get('/nodes')).json[0]).to.include({ name: 'local', status: 'up' });
    expect((await api.get('/nodes/local')).json.running_jobs).to.equal(0);
  });

  it('answers health, the cluster (SQLite: this daemon alone) and the OpenAPI document', async () => {
    expect((await api.get('/healthz')).json).to.include({ status: 'ok', role: 'leader' });
    const cluster = (await api.get('/api/v1/cluster')).json;
    expect(cluster).to.include({ leader: cluster.self, epoch: 1 });
    expect(cluster.members.map((m: { id: string; alive: boolean }) => [m.id, m.alive])).to.deep.equal([
      [cluster.self, true],
    ]);
    expect((await api.get('/api/v1/openapi.json')).json).to.deep.equal(openApiDocument());
  });

  it('enables and disables jobs (persistence across restarts is tested separately)', async () => {
    expect((await api.post('/api/v1/jobs/hello/disable')).json.enabled).to.equal(false);
    expect((await api.post('/api/v1/jobs/hello/enable')).json.enabled).to.equal(true);
  });

  it('lists the API writes of this suite in the audit log, newest first, to admins', async () => {
    const page = await api.get('/api/v1/audit?limit=5');
    expect(page.status).to.equal(200);
    expect(page.json.entries).to.have.length(5);
    const entry = page.json.entries[0];
    expect(entry).to.include({ token: null, address: '127.0.0.1' });
    expect(page.json.entries.map((e: { id: number }) => e.id)).to.deep.equal(
      [...page.json.entries.map((e: { id: number }) => e.id)].sort((a: number, b: number) => b - a),
    );
  });

  it('answers who the caller is, and the dead letters (none here)', async () => {
    expect((await api.get('/api/v1/whoami')).json).to.deep.equal({ name: null, role: 'admin' });
    expect((await api.get('/api/v1/dead-letters?limit=10')).json).to.deep.equal({ dead_letters: [] });
  });

  it('runs an ad-hoc command on the selected nodes and records it as @adhoc with trigger adhoc', async () => {
    const started = await api.post('/api/v1/exec', {
      policy: { select: 'all', roles: ['local'] },
      command: ['echo', 'ad hoc'],
    });
    expect(started.status).to.equal(202);
    expect(started.json.job).to.equal('@adhoc');
    const run = await finalRun(api, started.json.run_ids[0]);
    expect(run).to.include({ job: '@adhoc', trigger: 'adhoc', status: 'succeeded', stdout: 'ad hoc\n' });
  });

  it("serves a finished run's output as JSON and as an event stream", async () => {
    const id = (await api.post('/api/v1/jobs/hello/run')).json.run_ids[0];
    await finalRun(api, id);
    const out = (await api.get(`/api/v1/runs/${id}/output`)).json;
    expect(out).to.deep.equal({ text: 'hello world\noops\n', next_offset: 17, complete: true });
    const stderr = (await api.get(`/api/v1/runs/${id}/output?stream=stderr&offset=12`)).json;
    expect(stderr).to.deep.equal({ text: 'oops\n', next_offset: 17, complete: true });
    const stream = await api.get(`/api/v1/runs/${id}/output/stream`);
    expect(stream.headers.get('x-accel-buffering')).to.equal('no');
    expect(stream.text).to.include(
      'event: output\nid: 12\ndata: {"stream":"stdout","node":"local","text":"hello world\\n"}',
    );
    expect(stream.text).to.match(/event: end\ndata: \{"status":"succeeded","exit_code":0\}\n\n$/);
  });

  it('lists no resource pools when resources.d has none', async () => {
    expect((await api.get('/api/v1/resources')).json).to.deep.equal({ pools: [] });
  });

  it("shows a job's parents and children, runs the child after its parent, and refuses a cycle with 400", async () => {
    const child = { ...HELLO, parameters: {}, after: [{ job: 'hello', on: 'done' }] };
    expect((await api.put('/api/v1/jobs/greet-back', child)).status).to.equal(201);
    const parent = await api.get('/api/v1/jobs/hello');
    expect(parent.json.children).to.deep.equal(['greet-back']);
    const detail = await api.get('/api/v1/jobs/greet-back');
    expect(detail.json.definition.after).to.deep.equal([{ job: 'hello', on: 'done', hosts: 'all' }]);
    expect(detail.json.definition.window_ms).to.equal(86_400_000);
    const waiting = await api.get('/api/v1/jobs/greet-back/dependencies');
    expect(waiting.status).to.equal(200);
    expect(waiting.json).to.deep.include({ job: 'greet-back', round: 1, waiting_for: ['hello'] });
    const started = await api.post('/api/v1/jobs/hello/run', {});
    const run = await finalRun(api, started.json.run_ids[0]);
    const fired = await eventually(async () => {
      const reply = await api.get('/api/v1/runs?job=greet-back&trigger=dependency');
      return reply.json.runs.find((r: { status: string }) => r.status !== 'running');
    });
    expect(fired.parent_runs).to.deep.equal([run.id]);
    expect((await api.get('/api/v1/jobs/greet-back/dependencies')).json.round).to.equal(2);
    const cycle = await api.put('/api/v1/jobs/hello', { ...HELLO, after: [{ job: 'greet-back' }] });
    expect(cycle.status).to.equal(400);
    expect(cycle.json.error.details.problems[0].message).to.contain('forms a cycle');
    expect((await api.get('/api/v1/jobs/hello')).json.definition.after).to.deep.equal([]);
    expect((await api.get('/api/v1/jobs/nope/dependencies')).status).to.equal(404);
    expect((await api.delete('/api/v1/jobs/greet-back')).status).to.equal(204);
  });

  it('has exercised every documented operation in this suite', () => {
    const documented = Object.entries(openApiDocument().paths as Record<string, object>).flatMap(
      ([path, item]) => Object.keys(item).map((m) => `${m} ${path}`),
    );
    expect(documented.filter((op) => !d.checker.exercised.has(op))).to.deep.equal([]);
  });
});

describe('REST API enable/disable across a daemon restart', function () {
  this.timeout(60_000);
  const d = new ApiDaemon();
  after(() => d.cleanup());

  it('keeps a disabled job disabled (and an enabled override enabled) after a restart', async () => {
    d.env.writeNode('local', LOCAL_NODE);
    d.env.writeJob('hello', HELLO);
    d.env.writeJob('off-in-file', { ...HELLO, enabled: false });
    await d.start();
    await d.as().post('/api/v1/jobs/hello/disable');
    await d.as().post('/api/v1/jobs/off-in-file/enable');
    await d.stop();
    await d.start();
    const hello = (await d.as().get('/api/v1/jobs/hello')).json;
    const other = (await d.as().get('/api/v1/jobs/off-in-file')).json;
    expect([hello.enabled, hello.enabled_override]).to.deep.equal([false, false]);
    expect([other.enabled, other.enabled_override]).to.deep.equal([true, true]);
  });
});
