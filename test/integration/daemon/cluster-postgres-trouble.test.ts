/**
 * PostgreSQL trouble under a cluster (SPEC §15): three real daemon processes on one database,
 * jobs on real sshd hosts. The server is restarted (`pg_ctl restart`, every connection dropped)
 * and then stopped for 30 s while each member has a long `sleep` running over SSH. The members
 * keep their runs, reconnect, and record the outcomes afterwards; the leader stops claiming
 * before its lease can expire; no instant is lost and none is claimed twice.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { DaemonProcess, waitFor } from '../../harness/daemon-process.js';
import { freePort } from '../../harness/ports.js';
import { postgresMissingReason, type TestPostgres } from '../../harness/postgres.js';
import { skipSuite } from '../../harness/skip.js';
import { useSshHosts } from '../../harness/ssh-fixture.js';
import { sharedPostgres } from '../store/stores.js';

const TTL_MS = 6_000;
const LEASE = ['--lease-ttl', '6s', '--lease-renew', '1s'];
const OUTAGE_MS = 30_000;

interface Member {
  id: string;
  listen: string;
  proc: DaemonProcess;
}

interface Row {
  id: string;
  job: string;
  scheduled_at: string | null;
  node: string | null;
  status: string;
  member: string | null;
  started_at: string | null;
  attempt: number;
  error: string | null;
}

async function getJson<T>(listen: string, path: string): Promise<T> {
  const res = await fetch(`http://${listen}${path}`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return (await res.json()) as T;
}

async function post<T>(listen: string, path: string, body: unknown): Promise<T> {
  const res = await fetch(`http://${listen}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

describe('cluster: PostgreSQL restarted and unreachable for 30 s (real sshd hosts)', function () {
  this.timeout(300_000);
  const fixture = useSshHosts('cluster: PostgreSQL trouble', { count: 2 });
  let server: TestPostgres;
  let env: DaemonEnv;
  let database: string;
  let pool: pg.Pool;
  const members: Member[] = [];

  const rows = async (job: string): Promise<Row[]> =>
    (await pool.query<Row>('SELECT * FROM runs WHERE job = $1 ORDER BY scheduled_at, id', [job])).rows;

  const duplicates = async (): Promise<unknown[]> =>
    (
      await pool.query(
        `SELECT job, scheduled_at, node, attempt, count(*) AS n FROM runs
         WHERE scheduled_at IS NOT NULL GROUP BY job, scheduled_at, node, attempt HAVING count(*) > 1`,
      )
    ).rows;

  const leaderOf = async (): Promise<Member | undefined> => {
    const views = await Promise.all(
      members.map((m) => getJson<{ leader: string | null }>(m.listen, '/api/v1/cluster')),
    );
    const named = new Set(views.map((v) => v.leader));
    return named.size === 1 ? members.find((m) => m.id === views[0]!.leader) : undefined;
  };

  /**
   * A `sleep` run over SSH requested through each member's API; any member may take it from the
   * queue. Resolves once every one has started, with the member executing each.
   */
  const startSleeps = async (seconds: number): Promise<Map<string, string>> => {
    const ids: string[] = [];
    for (const m of members) {
      const { run_ids } = await post<{ run_ids: string[] }>(m.listen, '/api/v1/jobs/sleeper/run', {
        parameters: { SECONDS: String(seconds) },
      });
      ids.push(run_ids[0]!);
    }
    const executing = await waitFor('every sleep started on a member', async () => {
      const mine = (await rows('sleeper')).filter((r) => ids.includes(r.id));
      const started = mine.filter(
        (r) => r.status === 'running' && r.member !== null && r.started_at !== null,
      );
      return started.length === ids.length ? started : undefined;
    });
    return new Map(executing.map((r) => [r.id, r.member!]));
  };

  const expectRecorded = async (started: Map<string, string>) => {
    const done = await waitFor(
      'the sleeps recorded',
      async () => {
        const mine = (await rows('sleeper')).filter((r) => started.has(r.id));
        return mine.every((r) => r.status !== 'running') ? mine : undefined;
      },
      60_000,
    );
    for (const run of done) {
      expect(run, `run ${run.id} (${run.error ?? ''})`).to.include({ status: 'succeeded' });
      expect(run.member).to.equal(started.get(run.id));
    }
  };

  /** Every second of `tick` from its first scheduled instant to its last has exactly one run. */
  const expectContinuous = async () => {
    const seconds = (await rows('tick'))
      .filter((r) => r.attempt === 1)
      .map((r) => Date.parse(r.scheduled_at!));
    const missing: string[] = [];
    for (let t = seconds[0]!; t <= seconds[seconds.length - 1]!; t += 1000)
      if (!seconds.includes(t)) missing.push(new Date(t).toISOString());
    expect(missing, 'instants without a run').to.deep.equal([]);
    expect(await duplicates()).to.deep.equal([]);
  };

  before(async function () {
    const reason = postgresMissingReason();
    if (reason) skipSuite(this, 'cluster: PostgreSQL trouble', reason);
    server = await sharedPostgres();
    env = new DaemonEnv();
    const hosts = fixture.hosts;
    for (const i of [0, 1]) {
      env.writeNode(`h${i}`, {
        roles: ['remote'],
        connection_type: 'ssh',
        connection_options: {
          ssh_host: hosts.hostPort(i),
          ssh_user: hosts.user,
          ssh_private_key_file: hosts.clientKeyFile,
        },
      });
    }
    env.writeJob('tick', {
      policy: { select: 'any', roles: ['remote'] },
      schedule: '* * * * * *',
      catch_up: 'all',
      overlap: 'allow',
      command: ['true'],
    });
    env.writeJob('sleeper', {
      policy: { select: 'any', roles: ['remote'] },
      parameters: { SECONDS: { pattern: '^[0-9]+$', required: true } },
      shell_command: 'sleep "$SECONDS"',
    });
    database = server.createDatabase('pgtrouble');
    const { default: pgModule } = await import('pg');
    pool = new pgModule.Pool({ connectionString: server.url(database), max: 2 });
    // The test's own pool sees the restart too: its idle clients' errors are expected.
    pool.on('error', () => undefined);
    for (const id of ['p1', 'p2', 'p3']) {
      const listen = `127.0.0.1:${await freePort()}`;
      const proc = new DaemonProcess([
        ...['--db', server.url(database), '--db-pool-size', '3', '--member-id', id],
        ...['--jobs-dir', env.jobsDir, '--nodes-dir', env.nodesDir, '--listen', listen],
        ...['--known-hosts', hosts.knownHostsFile, '--ssh-connect-timeout', '5s'],
        ...['--timezone', 'UTC', '--shutdown-grace', '1s', '--no-ui', ...LEASE],
      ]);
      members.push({ id, listen, proc });
    }
    await waitFor('an agreed leader', leaderOf, 60_000);
    await waitFor('five ticks', async () => (await rows('tick')).length >= 5, 60_000);
  });

  after(async () => {
    for (const m of members) if (m.proc.child.exitCode === null) m.proc.kill('SIGKILL');
    await Promise.all(members.map((m) => m.proc.exited));
    await pool?.end();
    if (database) server.psql(`DROP DATABASE ${database} WITH (FORCE)`);
    await env?.cleanup();
  });

  it('pg_ctl restart mid-load: running runs finish and are recorded, no instant lost, none doubled', async () => {
    const started = await startSleeps(6);
    server.restart();
    await expectRecorded(started);
    const since = Date.now();
    await waitFor('ticks after the restart', async () =>
      (await rows('tick')).some((r) => Date.parse(r.scheduled_at!) > since + 2_000),
    );
    await expectContinuous();
    for (const m of members) expect(m.proc.child.exitCode, `${m.id} exited`).to.equal(null);
  });

  it('30 s without PostgreSQL: the leader stops claiming within the TTL, runs finish and are recorded afterwards, catch-up fills the gap', async () => {
    const leader = (await waitFor('a leader', leaderOf))!;
    const started = await startSleeps(10);
    const stoppedAt = Date.now();
    server.pause();
    try {
      const health = await waitFor(
        'the leader stepping down',
        async () => {
          const h = await getJson<{ role: string; lease_problem?: string }>(leader.listen, '/healthz');
          return h.role === 'follower' ? h : undefined;
        },
        TTL_MS + 5_000,
      );
      const steppedDownMs = Date.now() - stoppedAt;
      console.log(
        `      leader stepped down ${steppedDownMs} ms after PostgreSQL stopped (TTL ${TTL_MS} ms)`,
      );
      expect(steppedDownMs, 'stepped down before its lease could expire').to.be.below(TTL_MS);
      expect(health.lease_problem).to.be.a('string');
      // An API write can be neither loaded (a new job's stored state is read) nor shared now:
      // refused as unavailable (503, not as a bad request), and not active on the member either.
      const put = await fetch(`http://${leader.listen}/api/v1/jobs/unshared`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          policy: { select: 'any', roles: ['remote'] },
          schedule: '0 0 * * *',
          command: ['true'],
        }),
        signal: AbortSignal.timeout(30_000),
      });
      expect(put.status, await put.text()).to.equal(503);
      expect((await fetch(`http://${leader.listen}/api/v1/jobs/unshared`)).status).to.equal(404);
      expect(existsSync(join(env.jobsDir, 'unshared.json'))).to.equal(false);
      await new Promise((r) => setTimeout(r, Math.max(0, stoppedAt + OUTAGE_MS - Date.now())));
    } finally {
      server.resume();
    }
    const resumedAt = Date.now();
    await expectRecorded(started);
    await waitFor('a leader again', leaderOf, 30_000);
    await waitFor(
      'ticks after the outage',
      async () => (await rows('tick')).some((r) => Date.parse(r.scheduled_at!) > resumedAt + 2_000),
      60_000,
    );
    await expectContinuous();
    const gap = (await rows('tick')).filter((r) => {
      const at = Date.parse(r.scheduled_at!);
      return at > stoppedAt + 1_000 && at < resumedAt - 1_000;
    });
    expect(gap.length, 'instants of the outage caught up').to.be.at.least(OUTAGE_MS / 1000 - 5);
    for (const m of members) expect(m.proc.child.exitCode, `${m.id} exited`).to.equal(null);
  });
});
