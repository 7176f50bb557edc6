/**
 * One configuration and one set of outboxes across the members of a cluster (SPEC §15): real
 * daemon processes on one PostgreSQL database, each with its own jobs.d. A job written through
 * one member's API is active on the others within 2 s and outlives that member; DELETE and
 * enable/disable travel the same way; a hand-dropped file shows as a configuration that differs
 * from the leader's; with every member delivering, each run's webhook arrives once.
 */
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { DaemonProcess, waitFor } from '../../harness/daemon-process.js';
import { ES_TEST_VERSIONS, type EsTestServer } from '../../harness/elasticsearch.js';
import { HttpReceiver } from '../../harness/http-receiver.js';
import { freePort } from '../../harness/ports.js';
import { postgresMissingReason, type TestPostgres } from '../../harness/postgres.js';
import { skipSuite } from '../../harness/skip.js';
import { esOrSkip } from '../report/fixtures.js';
import { sharedPostgres } from '../store/stores.js';

const LEASE = ['--lease-ttl', '3s', '--lease-renew', '1s'];

interface Member {
  id: string;
  listen: string;
  jobsDir: string;
  proc: DaemonProcess;
}

interface ClusterBody {
  leader: string | null;
  members: {
    id: string;
    alive: boolean;
    config_hash: string | null;
    config_matches_leader: boolean | null;
  }[];
}

interface Health {
  status: string;
  role: string;
  config_problem?: string;
}

async function api(listen: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`http://${listen}${path}`, {
    method,
    headers: method === 'GET' ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? (method === 'GET' ? undefined : '{}') : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}

async function getJson<T>(listen: string, path: string): Promise<T> {
  const res = await api(listen, 'GET', path);
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return (await res.json()) as T;
}

/** How long after `since` the probe first held (polled every 50 ms, up to `timeoutMs`). */
async function within(
  what: string,
  since: number,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<number> {
  for (;;) {
    if (await probe().catch(() => false)) return Date.now() - since;
    if (Date.now() - since > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('cluster: one configuration and cluster-wide outboxes on PostgreSQL', function () {
  this.timeout(180_000);
  let server: TestPostgres;
  let database: string;
  let pool: pg.Pool;
  let hooks: HttpReceiver;
  let nodesDir: string;
  const dirs: string[] = [];
  const members: Member[] = [];

  const start = async (id: string): Promise<Member> => {
    const jobsDir = mkdtempSync(join(tmpdir(), `distcron-${id}-jobs-`));
    dirs.push(jobsDir);
    const listen = `127.0.0.1:${await freePort()}`;
    const proc = new DaemonProcess([
      ...['--db', server.url(database), '--db-pool-size', '3', '--member-id', id],
      ...['--jobs-dir', jobsDir, '--nodes-dir', nodesDir, '--listen', listen],
      ...['--timezone', 'UTC', '--shutdown-grace', '1s', '--no-ui', '--flood-per-hour', '0', ...LEASE],
    ]);
    const member = { id, listen, jobsDir, proc };
    members.push(member);
    await waitFor(`${id} answering`, async () => (await api(listen, 'GET', '/healthz')).ok, 60_000);
    return member;
  };

  const job = (description: string) => ({
    description,
    policy: { select: 'any', hosts: ['local'] },
    schedule: '*/2 * * * * *',
    command: ['true'],
  });

  before(async function () {
    const reason = postgresMissingReason();
    if (reason) skipSuite(this, 'cluster config', reason);
    server = await sharedPostgres();
    database = server.createDatabase('cfgsync');
    const { default: pgModule } = await import('pg');
    pool = new pgModule.Pool({ connectionString: server.url(database), max: 2 });
    hooks = await HttpReceiver.start();
    nodesDir = mkdtempSync(join(tmpdir(), 'distcron-nodes-'));
    dirs.push(nodesDir);
    writeFileSync(
      join(nodesDir, 'local.json'),
      JSON.stringify({ connection_type: 'local', roles: ['local'] }),
    );
    for (const id of ['a', 'b', 'c']) await start(id);
    await waitFor('an agreed leader', async () => {
      const views = await Promise.all(members.map((m) => getJson<ClusterBody>(m.listen, '/api/v1/cluster')));
      return views.every((v) => v.leader !== null && v.leader === views[0]!.leader);
    });
  });

  after(async () => {
    for (const m of members) if (m.proc.child.exitCode === null) m.proc.kill('SIGKILL');
    await Promise.all(members.map((m) => m.proc.exited));
    await pool?.end();
    if (database) server.psql(`DROP DATABASE ${database} WITH (FORCE)`);
    await hooks?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const a = () => members[0]!;
  const b = () => members[1]!;
  const c = () => members[2]!;

  it('a job PUT through one member is active on every other member within 2 s, the same file in each jobs.d', async () => {
    const res = await api(b().listen, 'PUT', '/api/v1/jobs/shared', job('written through b'));
    expect(res.status).to.be.oneOf([200, 201]);
    const answered = Date.now();
    for (const m of [a(), c()]) {
      const ms = await within(
        `job shared on ${m.id}`,
        answered,
        async () => (await api(m.listen, 'GET', '/api/v1/jobs/shared')).ok,
        2_000,
      );
      console.log(`      PUT through b → active on ${m.id} after ${ms} ms`);
      expect(readFileSync(join(m.jobsDir, 'shared.json'), 'utf8')).to.equal(
        readFileSync(join(b().jobsDir, 'shared.json'), 'utf8'),
      );
    }
    const view = await getJson<{ description: string }>(c().listen, '/api/v1/jobs/shared');
    expect(view.description).to.equal('written through b');
  });

  it('disable and enable through one member reach every member within 2 s', async () => {
    const enabledOn = async (m: Member) =>
      (await getJson<{ enabled: boolean }>(m.listen, '/api/v1/jobs/shared')).enabled;
    expect((await api(c().listen, 'POST', '/api/v1/jobs/shared/disable')).ok).to.equal(true);
    let since = Date.now();
    for (const m of [a(), b()])
      await within(`disabled on ${m.id}`, since, async () => !(await enabledOn(m)), 2_000);
    expect((await api(a().listen, 'POST', '/api/v1/jobs/shared/enable')).ok).to.equal(true);
    since = Date.now();
    for (const m of [b(), c()]) await within(`enabled on ${m.id}`, since, () => enabledOn(m), 2_000);
  });

  it('two members writing one job at once end with the same document everywhere (the later version)', async () => {
    await Promise.all([
      api(a().listen, 'PUT', '/api/v1/jobs/raced', job('from a')),
      api(c().listen, 'PUT', '/api/v1/jobs/raced', job('from c')),
    ]);
    const stored = await waitFor('the stored document', async () => {
      const { rows } = await pool.query<{ document: string }>(
        "SELECT document FROM job_documents WHERE name = 'raced'",
      );
      return rows[0]?.document;
    });
    const converged = async () =>
      members.every((m) => {
        const file = join(m.jobsDir, 'raced.json');
        return existsSync(file) && readFileSync(file, 'utf8') === stored;
      });
    await within('every member on the last written version', Date.now(), converged, 2_000);
    const descriptions = await Promise.all(
      members.map(
        async (m) => (await getJson<{ description: string }>(m.listen, '/api/v1/jobs/raced')).description,
      ),
    );
    expect(new Set(descriptions).size, descriptions.join(', ')).to.equal(1);
  });

  it('DELETE through one member removes the job from every member within 2 s', async () => {
    expect((await api(a().listen, 'DELETE', '/api/v1/jobs/raced')).status).to.equal(204);
    const since = Date.now();
    for (const m of [b(), c()]) {
      await within(
        `job gone on ${m.id}`,
        since,
        async () => (await api(m.listen, 'GET', '/api/v1/jobs/raced')).status === 404,
        2_000,
      );
      expect(existsSync(join(m.jobsDir, 'raced.json'))).to.equal(false);
    }
  });

  it('a member whose hand-dropped files differ from the leader is reported by /api/v1/cluster and /healthz', async () => {
    const { leader } = await getJson<ClusterBody>(a().listen, '/api/v1/cluster');
    const odd = members.find((m) => m.id !== leader)!;
    writeFileSync(join(odd.jobsDir, 'only-here.json'), JSON.stringify(job('dropped by hand on one member')));
    const health = await waitFor('the odd member degraded', async () => {
      const h = await getJson<Health>(odd.listen, '/healthz');
      return h.status === 'degraded' ? h : undefined;
    });
    expect(health.config_problem).to.match(/differs from the leader/);
    const view = await getJson<ClusterBody>(a().listen, '/api/v1/cluster');
    const row = (id: string) => view.members.find((m) => m.id === id)!;
    expect(row(odd.id).config_matches_leader).to.equal(false);
    expect(row(leader!).config_matches_leader).to.equal(true);
    unlinkSync(join(odd.jobsDir, 'only-here.json'));
    await waitFor(
      'the odd member healthy again',
      async () => (await getJson<Health>(odd.listen, '/healthz')).status === 'ok',
    );
    // The view compares the hashes the members published at their last heartbeat.
    await waitFor('every live member matching the leader again', async () => {
      const again = await getJson<ClusterBody>(a().listen, '/api/v1/cluster');
      const live = again.members.filter((m) => m.alive);
      return live.length === 3 && live.every((m) => m.config_matches_leader === true);
    });
  });

  it('a job written through a member survives its kill -9: a member started afterwards gets it', async () => {
    const res = await api(b().listen, 'PUT', '/api/v1/jobs/survivor', job('b wrote me, then died'));
    expect(res.status).to.be.oneOf([200, 201]);
    b().proc.kill('SIGKILL');
    await b().proc.exited;
    const late = await start('d');
    const view = await getJson<{ description: string }>(late.listen, '/api/v1/jobs/survivor');
    expect(view.description).to.equal('b wrote me, then died');
    expect((await api(late.listen, 'GET', '/api/v1/jobs/shared')).ok).to.equal(true);
    expect((await api(late.listen, 'GET', '/api/v1/jobs/raced')).status).to.equal(404);
  });

  it('writes no file for a shared document whose path leaves jobs.d or names another job (a row written around the API)', async () => {
    const smuggle = async (name: string, path: string) => {
      const { rows } = await pool.query<{ version: string }>(
        'UPDATE config_version SET version = version + 1 WHERE id = 1 RETURNING version',
      );
      await pool.query(
        `INSERT INTO job_documents (name, version, path, document, written_by, written_at)
         VALUES ($1, $2, $3, $4, 'intruder', '2026-12-07T00:00:00.000Z')`,
        [name, rows[0]!.version, path, JSON.stringify(job('smuggled'))],
      );
    };
    await smuggle('escape', '../escape.json');
    await smuggle('decoy', 'other-name.json');
    await smuggle('hidden', '.git/hidden.json');
    await waitFor('every live member refusing the three rows', async () =>
      members
        .filter((m) => m.proc.child.exitCode === null && m.proc.child.signalCode === null)
        .every((m) => m.proc.log.split('unsafe path').length - 1 >= 3),
    );
    for (const m of members) {
      expect(existsSync(join(m.jobsDir, '..', 'escape.json'))).to.equal(false);
      expect(existsSync(join(m.jobsDir, 'other-name.json'))).to.equal(false);
      expect(existsSync(join(m.jobsDir, '.git'))).to.equal(false);
    }
    expect((await api(a().listen, 'GET', '/api/v1/jobs/decoy')).status).to.equal(404);
  });

  it('with every member delivering, each run’s webhook arrives exactly once', async () => {
    const live = members.filter((m) => m.proc.child.exitCode === null && m.proc.child.signalCode === null);
    // A slow receiver keeps the member that finished a run busy, so the others' polls find work.
    hooks.setFallback({ status: 200, delayMs: 1_500 });
    const res = await api(live[0]!.listen, 'PUT', '/api/v1/jobs/hooked', {
      policy: { select: 'any', hosts: ['local'] },
      schedule: '* * * * * *',
      command: ['true'],
      notify: { on: ['success'], webhooks: [{ url: hooks.url(), on: ['success'] }] },
    });
    expect(res.status).to.be.oneOf([200, 201]);
    await waitFor(
      'twelve succeeded runs',
      async () => {
        const { rows } = await pool.query(
          "SELECT id FROM runs WHERE job = 'hooked' AND status = 'succeeded'",
        );
        return rows.length >= 12;
      },
      60_000,
    );
    expect((await api(live[0]!.listen, 'POST', '/api/v1/jobs/hooked/disable')).ok).to.equal(true);
    await new Promise((r) => setTimeout(r, 1_500));
    const succeeded = async () =>
      (
        await pool.query<{ id: string }>(
          "SELECT id FROM runs WHERE job = 'hooked' AND status = 'succeeded' ORDER BY id",
        )
      ).rows.map((r) => r.id);
    const delivered = () => hooks.requests.map((r) => (JSON.parse(r.body) as { run: { id: string } }).run.id);
    const expected = await succeeded();
    await waitFor(
      'a webhook for every run',
      async () => new Set(delivered()).size >= expected.length,
      60_000,
    );
    await waitFor('the outbox empty', async () => {
      const left = await pool.query("SELECT 1 FROM outbox WHERE sink IN ('notify', 'webhook')");
      return left.rows.length === 0;
    });
    const ids = delivered();
    const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
    expect(twice, 'runs whose webhook arrived twice').to.deep.equal([]);
    expect([...ids].sort()).to.deep.equal(await succeeded());
    const byMember = live.map((m) => ({
      id: m.id,
      n: m.proc.log.split('notify: webhook delivered').length - 1,
    }));
    console.log(
      `      ${ids.length} webhooks, delivered by ${byMember.map((m) => `${m.id}: ${m.n}`).join(', ')}`,
    );
    expect(byMember.filter((m) => m.n > 0).length, 'members that delivered').to.be.at.least(2);
  });
});

describe('cluster: Elasticsearch documents shipped by every member, each run once (real Elasticsearch)', function () {
  this.timeout(300_000);
  let es: EsTestServer;
  let server: TestPostgres;
  let database: string;
  let pool: pg.Pool;
  const dirs: string[] = [];
  const procs: DaemonProcess[] = [];

  before(async function () {
    const reason = postgresMissingReason();
    if (reason) skipSuite(this, 'cluster Elasticsearch', reason);
    es = await esOrSkip(this, 'cluster Elasticsearch', ES_TEST_VERSIONS.v9);
    server = await sharedPostgres();
    database = server.createDatabase('cfges');
    const { default: pgModule } = await import('pg');
    pool = new pgModule.Pool({ connectionString: server.url(database), max: 2 });
  });

  after(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await pool?.end();
    if (database) server.psql(`DROP DATABASE ${database} WITH (FORCE)`);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('indexes every run of a per-second job once: one document per run, each at version 1, no dead letter', async () => {
    const job = `esonce${process.pid}`;
    const configDir = mkdtempSync(join(tmpdir(), 'distcron-es-cluster-'));
    dirs.push(configDir);
    for (const sub of ['jobs.d', 'nodes.d']) mkdirSync(join(configDir, sub));
    writeFileSync(join(configDir, 'nodes.d', 'local.json'), JSON.stringify({ connection_type: 'local' }));
    writeFileSync(
      join(configDir, 'jobs.d', `${job}.json`),
      JSON.stringify({
        policy: { select: 'any', hosts: ['local'] },
        schedule: '* * * * * *',
        command: ['true'],
      }),
    );
    for (const id of ['e1', 'e2', 'e3']) {
      const listen = `127.0.0.1:${await freePort()}`;
      procs.push(
        new DaemonProcess([
          ...['--db', server.url(database), '--db-pool-size', '3', '--member-id', id, '--es-url', es.url],
          ...['--jobs-dir', join(configDir, 'jobs.d'), '--nodes-dir', join(configDir, 'nodes.d')],
          ...['--listen', listen, '--timezone', 'UTC', '--shutdown-grace', '1s', '--no-ui', ...LEASE],
        ]),
      );
    }
    const finished = async () =>
      (
        await pool.query<{ id: string }>(
          "SELECT id FROM runs WHERE job = $1 AND status <> 'running' ORDER BY id",
          [job],
        )
      ).rows.map((r) => r.id);
    await waitFor('fifteen finished runs', async () => (await finished()).length >= 15, 120_000);
    // Disabled (by hand, in the directory the members share here): the runs are counted once all are final.
    writeFileSync(
      join(configDir, 'jobs.d', `${job}.json`),
      JSON.stringify({
        policy: { select: 'any', hosts: ['local'] },
        schedule: '* * * * * *',
        command: ['true'],
        enabled: false,
      }),
    );
    await new Promise((r) => setTimeout(r, 2_000));
    await waitFor('no run in flight', async () => {
      const running = await pool.query("SELECT 1 FROM runs WHERE job = $1 AND status = 'running'", [job]);
      return running.rows.length === 0;
    });
    await waitFor(
      'the elasticsearch outbox empty',
      async () => {
        const left = await pool.query("SELECT 1 FROM outbox WHERE sink = 'elasticsearch'");
        return left.rows.length === 0 && (await finished()).length > 0;
      },
      60_000,
    );
    const runs = await finished();
    await fetch(`${es.url}/distcron-runs-*/_refresh`, { method: 'POST' });
    const res = await fetch(`${es.url}/distcron-runs-*/_search?version=true&size=1000`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: { term: { job } } }),
    });
    const hits = ((await res.json()) as { hits: { hits: { _id: string; _version: number }[] } }).hits.hits;
    expect(hits.map((h) => h._id).sort()).to.deep.equal(runs);
    expect(
      hits.filter((h) => h._version !== 1),
      'documents indexed more than once',
    ).to.deep.equal([]);
    expect((await pool.query('SELECT 1 FROM dead_letters')).rows).to.deep.equal([]);
  });
});
