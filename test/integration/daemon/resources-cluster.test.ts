/**
 * Resource pools across several daemons on one PostgreSQL database (SPEC §15, §16): the pool
 * lives in the store, so two members running the same pool never hold it at once.
 */
import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { startMembers, type Member } from '../../harness/cluster-members.js';
import { waitFor } from '../../harness/daemon-process.js';
import { postgresMissingReason, type TestPostgres } from '../../harness/postgres.js';
import { skipSuite } from '../../harness/skip.js';
import { sharedPostgres } from '../store/stores.js';

interface Row {
  id: string;
  member: string | null;
  status: string;
  started_at: string | null;
  finished_at: string | null;
}

describe('resource pools: cluster-wide on PostgreSQL', function () {
  this.timeout(180_000);
  let server: TestPostgres;
  let env: DaemonEnv;
  let database: string;
  let pool: pg.Pool;
  const members: Member[] = [];

  before(async function () {
    const reason = postgresMissingReason();
    if (reason) skipSuite(this, 'resource pools on PostgreSQL', reason);
    server = await sharedPostgres();
    env = new DaemonEnv();
    env.writeNode('local', { roles: ['local'], connection_type: 'local' });
    mkdirSync(join(env.dir, 'resources.d'));
    writeFileSync(join(env.dir, 'resources.d', 'db-conn.json'), '{"capacity": 1}');
    env.writeJob('dump', {
      policy: { select: 'any', roles: ['local'] },
      command: ['sleep', '1.5'],
      overlap: 'allow',
      resources: { 'db-conn': 1 },
    });
    database = server.createDatabase('pools');
    const { default: pgModule } = await import('pg');
    pool = new pgModule.Pool({ connectionString: server.url(database), max: 2 });
    members.push(...(await startMembers(['m1', 'm2'], { url: server.url(database), env, poolSize: 3 })));
  });

  after(async () => {
    for (const m of members) if (m.proc.child.exitCode === null) m.proc.kill('SIGKILL');
    await Promise.all(members.map((m) => m.proc.exited));
    await pool?.end();
    if (database) server.psql(`DROP DATABASE ${database} WITH (FORCE)`);
    await env?.cleanup();
  });

  async function runOn(listen: string): Promise<void> {
    const res = await fetch(`http://${listen}/api/v1/jobs/dump/run`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(res.status, await res.text()).to.equal(202);
  }

  it('runs on two members never hold a capacity-1 pool at once', async () => {
    for (let i = 0; i < 3; i++) for (const m of members) await runOn(m.listen);
    const runs = await waitFor(
      'six finished runs',
      async () => {
        const { rows } = await pool.query<Row>(`SELECT * FROM runs WHERE job = 'dump' ORDER BY started_at`);
        return rows.length === 6 && rows.every((r) => r.status !== 'running') ? rows : undefined;
      },
      60_000,
    );
    expect(runs.map((r) => r.status)).to.deep.equal(Array(6).fill('succeeded'));
    expect(new Set(runs.map((r) => r.member))).to.deep.equal(new Set(['m1', 'm2']));
    for (let i = 1; i < runs.length; i++)
      expect(Date.parse(runs[i]!.started_at!), `run ${i} starts after run ${i - 1} finished`).to.be.at.least(
        Date.parse(runs[i - 1]!.finished_at!),
      );
    const { rows: held } = await pool.query('SELECT * FROM resource_holdings');
    expect(held).to.deep.equal([]);
  });
});
