import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import type { ApiCaller } from '../../unit/api/http.js';
import { ApiDaemon, eventually } from './api-daemon.js';

const LOCAL = { policy: { select: 'any', roles: ['local'] } };

describe('REST API: resource pools on a real daemon', function () {
  this.timeout(60_000);
  const d = new ApiDaemon();
  let api: ApiCaller;

  function writePool(name: string, body: object): void {
    mkdirSync(join(d.dir, 'resources.d'), { recursive: true });
    writeFileSync(join(d.dir, 'resources.d', `${name}.json`), JSON.stringify(body));
  }

  before(async () => {
    d.env.writeNode('local', { roles: ['local'], connection_type: 'local' });
    writePool('db', { capacity: 1, per_minute: 100 });
    writePool('broken', { capacity: -2 });
    d.env.writeJob('holder', { ...LOCAL, command: ['sleep', '30'], resources: { db: 1 } });
    d.env.writeJob('waiter', { ...LOCAL, command: ['true'], resources: { db: 1 }, overlap: 'allow' });
    d.env.writeJob('orphan', { ...LOCAL, command: ['true'], resources: { 'no-such-pool': 1 } });
    d.env.writeJob('plain', { ...LOCAL, command: ['true'] });
    d.env.writeJob('flaky', {
      ...LOCAL,
      command: ['false'],
      retries: { count: 2, delay: '100ms' },
      resources: { db: 1 },
    });
    await d.start();
    api = d.as();
  });
  after(() => d.cleanup());

  async function runOf(job: string): Promise<string> {
    const reply = await api.post(`/api/v1/jobs/${job}/run`, {});
    expect(reply.status, JSON.stringify(reply.json)).to.equal(202);
    return (reply.json as { run_ids: string[] }).run_ids[0]!;
  }

  async function finalOf(id: string): Promise<Record<string, unknown>> {
    return eventually(async () => {
      const run = (await api.get(`/api/v1/runs/${id}`)).json as Record<string, unknown>;
      return run.status === 'running' ? undefined : run;
    });
  }

  it('shows the holder and the waiters of a pool, in serving order, and frees it on cancel', async () => {
    const holder = await runOf('holder');
    await eventually(async () =>
      (await api.get(`/api/v1/runs/${holder}`)).json.started_at ? true : undefined,
    );
    const first = await runOf('waiter');
    const second = await runOf('waiter');
    const pool = await eventually(async () => {
      const pools = (await api.get('/api/v1/resources')).json.pools as Record<string, unknown>[];
      const db = pools.find((p) => p.name === 'db')!;
      return (db.waiters as unknown[]).length === 2 ? db : undefined;
    });
    expect(pool).to.deep.include({ capacity: 1, per_minute: 100, in_use: 1, acquisitions_last_minute: 1 });
    expect(pool.holders).to.have.length(1);
    expect((pool.holders as Record<string, unknown>[])[0]).to.include({
      run_id: holder,
      job: 'holder',
      amount: 1,
    });
    expect((pool.waiters as Record<string, unknown>[]).map((w) => w.run_id)).to.deep.equal([first, second]);
    expect((await api.get(`/api/v1/runs/${first}`)).json.started_at, 'not started while waiting').to.equal(
      null,
    );

    const metrics = (await api.get('/metrics')).text;
    expect(metrics).to.include('distcron_resource_holders{pool="db"} 1');
    expect(metrics).to.include('distcron_resource_waiters{pool="db"} 2');

    expect((await api.post(`/api/v1/runs/${holder}/cancel`, {})).status).to.equal(202);
    expect((await finalOf(first)).status).to.equal('succeeded');
    expect((await finalOf(second)).status).to.equal('succeeded');
    const after = (await api.get('/api/v1/resources')).json.pools as Record<string, unknown>[];
    expect(after.find((p) => p.name === 'db')).to.deep.include({ in_use: 0, holders: [], waiters: [] });
  });

  it('a run cancelled while it waits is recorded cancelled, never started, and leaves the queue', async () => {
    const holder = await runOf('holder');
    await eventually(async () =>
      (await api.get(`/api/v1/runs/${holder}`)).json.started_at ? true : undefined,
    );
    const waiting = await runOf('waiter');
    await eventually(async () => {
      const pools = (await api.get('/api/v1/resources')).json.pools as { name: string; waiters: unknown[] }[];
      return pools.find((p) => p.name === 'db')!.waiters.length === 1 ? true : undefined;
    });
    expect((await api.post(`/api/v1/runs/${waiting}/cancel`, {})).status).to.equal(202);
    const run = await finalOf(waiting);
    expect(run).to.include({ status: 'cancelled', started_at: null });
    const pools = (await api.get('/api/v1/resources')).json.pools as Record<string, unknown>[];
    expect(pools.find((p) => p.name === 'db')).to.deep.include({ in_use: 1, waiters: [] });
    expect((await api.post(`/api/v1/runs/${holder}/cancel`, {})).status).to.equal(202);
    await finalOf(holder);
  });

  it('releases the pool after each failed attempt, and each retry acquires it again', async () => {
    const first = await runOf('flaky');
    await finalOf(first);
    const attempts = await eventually(async () => {
      const runs = (await api.get('/api/v1/runs?job=flaky')).json.runs as Record<string, unknown>[];
      return runs.length === 3 && runs.every((r) => r.status === 'failed') ? runs : undefined;
    });
    expect(attempts.map((r) => r.attempt).sort()).to.deep.equal([1, 2, 3]);
    const db = new Database(d.env.dbPath, { readonly: true });
    try {
      const acquired = db
        .prepare(
          'SELECT count(*) AS n FROM resource_acquisitions WHERE run_id IN (SELECT id FROM runs WHERE job = ?)',
        )
        .get('flaky') as { n: number };
      expect(acquired.n, 'one acquisition per attempt').to.equal(3);
      expect(db.prepare('SELECT * FROM resource_holdings').all()).to.deep.equal([]);
    } finally {
      db.close();
    }
  });

  it('reports a pool with a negative capacity and a job naming an unknown pool, and runs everything else', async () => {
    const job = (await api.get('/api/v1/jobs/holder')).json as { definition: Record<string, unknown> };
    expect(job.definition).to.deep.include({ resources: { db: 1 }, resource_wait_ms: null });

    const errors = (await api.get('/api/v1/config/errors')).json.errors as Record<string, unknown>[];
    const places = errors.map((e) => [String(e.file).split('/').slice(-2).join('/'), e.path]);
    expect(places).to.deep.include(['resources.d/broken.json', '$.capacity']);
    expect(places).to.deep.include(['jobs.d/orphan.json', '$.resources["no-such-pool"]']);
    expect(errors).to.have.length(2);

    expect((await finalOf(await runOf('plain'))).status).to.equal('succeeded');
    const orphan = await finalOf(await runOf('orphan'));
    expect(orphan.status).to.equal('skipped');
    expect(orphan.error).to.match(
      /resource pool "no-such-pool" is not defined; add resources\.d\/no-such-pool\.json/,
    );
  });
});
