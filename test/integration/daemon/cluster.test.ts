/**
 * Several daemons on one PostgreSQL database (SPEC §15): real daemon processes, so kill -9 and
 * SIGSTOP are real. Short leases (TTL 3 s, renew 1 s) keep it fast. One cluster of three members
 * goes through the scenarios in order: one leader → kill -9 of the leader (takeover, catch-up,
 * no duplicates) → SIGSTOP of the next leader past 2×TTL (split brain: it fires nothing after
 * waking) → kill -9 of a member with a run in flight (recorded lost by the leader).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import type pg from 'pg';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { DaemonProcess, waitFor } from '../../harness/daemon-process.js';
import { freePort } from '../../harness/ports.js';
import { postgresMissingReason, type TestPostgres } from '../../harness/postgres.js';
import { skipSuite } from '../../harness/skip.js';
import { sharedPostgres } from '../store/stores.js';

const TTL_MS = 3_000;
const LEASE = ['--lease-ttl', '3s', '--lease-renew', '1s'];

interface ClusterBody {
  self: string;
  leader: string | null;
  epoch: number;
  members: {
    id: string;
    listen: string | null;
    pid: number;
    alive: boolean;
    leader: boolean;
    heartbeat_age_ms: number;
    config_hash: string | null;
    runs_in_flight: number;
  }[];
}

interface Row {
  id: string;
  job: string;
  scheduled_at: string | null;
  node: string | null;
  status: string;
  trigger: string;
  attempt: number;
  member: string | null;
  started_at: string | null;
}

interface Member {
  id: string;
  listen: string;
  proc: DaemonProcess;
}

async function getJson<T>(listen: string, path: string): Promise<T> {
  const res = await fetch(`http://${listen}${path}`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return (await res.json()) as T;
}

describe('cluster: several daemons on one PostgreSQL database', function () {
  this.timeout(180_000);
  let server: TestPostgres;
  let env: DaemonEnv;
  let database: string;
  let pool: pg.Pool;
  const marker = `distcron-cluster-${process.pid}-${Date.now()}`;
  let members: Member[] = [];
  /** Survivors after each scenario. */
  let leader: Member;
  const dead = new Set<string>();

  const rows = async (job: string): Promise<Row[]> =>
    (await pool.query<Row>('SELECT * FROM runs WHERE job = $1 ORDER BY scheduled_at, id', [job])).rows;

  /** Scheduled instants claimed twice (any node, any attempt): must be none. */
  const duplicates = async (): Promise<unknown[]> =>
    (
      await pool.query(
        `SELECT job, scheduled_at, node, attempt, count(*) AS n FROM runs
         WHERE scheduled_at IS NOT NULL GROUP BY job, scheduled_at, node, attempt HAVING count(*) > 1`,
      )
    ).rows;

  /** Every second from the first scheduled instant of `tick` to its last has exactly one run. */
  const expectContinuous = async () => {
    const ticks = (await rows('tick')).filter((r) => r.attempt === 1);
    const seconds = ticks.map((r) => Date.parse(r.scheduled_at!));
    const first = seconds[0]!;
    const last = seconds[seconds.length - 1]!;
    const missing: string[] = [];
    for (let t = first; t <= last; t += 1000)
      if (!seconds.includes(t)) missing.push(new Date(t).toISOString());
    expect(missing, 'instants without a run').to.deep.equal([]);
    expect(seconds.length).to.equal((last - first) / 1000 + 1);
  };

  const alive = () => members.filter((m) => !dead.has(m.id));

  /** The leader every live member agrees on. */
  const agreedLeader = async (): Promise<Member | undefined> => {
    const views = await Promise.all(alive().map((m) => getJson<ClusterBody>(m.listen, '/api/v1/cluster')));
    const named = new Set(views.map((v) => v.leader));
    if (named.size !== 1) return undefined;
    return alive().find((m) => m.id === views[0]!.leader);
  };

  before(async function () {
    const reason = postgresMissingReason();
    if (reason) skipSuite(this, 'cluster', reason);
    server = await sharedPostgres();
    env = new DaemonEnv();
    env.writeNode('local', { roles: ['local'], connection_type: 'local' });
    env.writeJob('tick', {
      policy: { select: 'any', roles: ['local'] },
      schedule: '* * * * * *',
      catch_up: 'all',
      overlap: 'allow',
      command: ['sh', '-c', 'echo tick'],
    });
    env.writeJob('sleeper', {
      policy: { select: 'any', roles: ['local'] },
      command: ['sh', '-c', 'sleep 60', marker],
    });
    database = server.createDatabase('cluster');
    const { default: pgModule } = await import('pg');
    pool = new pgModule.Pool({ connectionString: server.url(database), max: 2 });
    for (const id of ['m1', 'm2', 'm3']) {
      const listen = `127.0.0.1:${await freePort()}`;
      const proc = new DaemonProcess([
        ...['--db', server.url(database), '--db-pool-size', '3', '--member-id', id],
        ...['--jobs-dir', env.jobsDir, '--nodes-dir', env.nodesDir, '--listen', listen],
        ...['--timezone', 'UTC', '--shutdown-grace', '1s', '--no-ui', ...LEASE],
      ]);
      members.push({ id, listen, proc });
    }
  });

  after(async () => {
    for (const m of members) if (m.proc.child.exitCode === null) m.proc.kill('SIGKILL');
    await Promise.all(members.map((m) => m.proc.exited));
    try {
      execFileSync('pkill', ['-9', '-f', marker]);
    } catch {
      // nothing left
    }
    await pool?.end();
    if (database) server.psql(`DROP DATABASE ${database} WITH (FORCE)`);
    await env?.cleanup();
    members = [];
  });

  it('(a) elects exactly one leader; only it claims; no (job, instant, node) twice; GET /api/v1/cluster', async () => {
    await waitFor('three live members', async () => {
      const view = await getJson<ClusterBody>(members[0]!.listen, '/api/v1/cluster');
      return view.members.filter((m) => m.alive).length === 3 && view.leader !== null;
    });
    leader = (await waitFor('an agreed leader', agreedLeader))!;
    await waitFor('five scheduled runs', async () => (await rows('tick')).length >= 5);
    const view = await getJson<ClusterBody>(leader.listen, '/api/v1/cluster');
    expect(view.self).to.equal(leader.id);
    expect(view.leader).to.equal(leader.id);
    expect(view.epoch).to.be.a('number').at.least(1);
    expect(view.members.map((m) => m.id)).to.deep.equal(['m1', 'm2', 'm3']);
    for (const m of view.members) {
      const who = members.find((x) => x.id === m.id)!;
      expect(m).to.include({
        listen: who.listen,
        pid: who.proc.child.pid,
        alive: true,
        leader: m.id === leader.id,
      });
      expect(m.heartbeat_age_ms).to.be.within(0, TTL_MS);
      expect(m.config_hash).to.be.a('string');
      expect(m.runs_in_flight).to.be.a('number');
    }
    // Same files, same configuration hash.
    expect(new Set(view.members.map((m) => m.config_hash)).size).to.equal(1);
    const health = await getJson<{ role: string }>(leader.listen, '/healthz');
    expect(health.role).to.equal('leader');
    const follower = alive().find((m) => m.id !== leader.id)!;
    expect((await getJson<{ role: string }>(follower.listen, '/healthz')).role).to.equal('follower');
    // The leader claims; every member executes what is queued, and each run names its executor.
    const ticks = (await rows('tick')).filter((r) => r.status !== 'running');
    expect(ticks.every((r) => ['m1', 'm2', 'm3'].includes(r.member!))).to.equal(true);
    const apiRun = await getJson<{ runs: { id: string; member: string | null }[] }>(
      follower.listen,
      '/api/v1/runs?job=tick',
    );
    const stored = (await rows('tick')).find((r) => r.id === apiRun.runs[0]?.id);
    expect(apiRun.runs[0]?.member).to.equal(stored?.member);
    expect(await duplicates()).to.deep.equal([]);
  });

  it('(b) kill -9 of the leader: another takes over within TTL + a few seconds and catches up every instant, once', async () => {
    const old = leader;
    const killedAt = Date.now();
    old.proc.kill('SIGKILL');
    await old.proc.exited;
    dead.add(old.id);
    const next = await waitFor(
      'a new leader',
      async () => {
        const found = await agreedLeader();
        return found && found.id !== old.id ? found : undefined;
      },
      TTL_MS + 10_000,
    );
    const takeoverMs = Date.now() - killedAt;
    console.log(
      `      takeover after kill -9 of the leader: ${takeoverMs} ms (lease TTL ${TTL_MS} ms, renew 1000 ms)`,
    );
    expect(takeoverMs).to.be.below(TTL_MS + 4_000);
    leader = next;
    // A few instants under the new leader, then the whole series must be there, each once.
    const tookOverAt = Date.now();
    await waitFor('runs claimed by the new leader', async () => {
      const after = (await rows('tick')).filter(
        (r) => r.trigger === 'schedule' && Date.parse(r.scheduled_at!) > tookOverAt,
      );
      return after.length >= 3;
    });
    const ticks = await rows('tick');
    const gap = ticks.filter(
      (r) => r.trigger === 'catch_up' && Date.parse(r.scheduled_at!) >= killedAt - 1_000,
    );
    expect(ticks.some((r) => r.member === old.id && Date.parse(r.started_at ?? '') > killedAt)).to.equal(
      false,
    );
    expect(gap.length, 'instants of the gap caught up by the new leader').to.be.at.least(1);
    await expectContinuous();
    expect(await duplicates()).to.deep.equal([]);
    const view = await getJson<ClusterBody>(next.listen, '/api/v1/cluster');
    expect(view.members.find((m) => m.id === old.id)).to.include({ alive: false, leader: false });
    expect(view.leader).to.equal(next.id);
  });

  it('(c) split brain: a leader paused past 2×TTL fires nothing after it wakes; no duplicates', async () => {
    const paused = leader;
    paused.proc.kill('SIGSTOP');
    const stoppedAt = Date.now();
    dead.add(paused.id);
    const next = await waitFor(
      'a leader while the old one is paused',
      async () => {
        const found = await agreedLeader();
        return found && found.id !== paused.id ? found : undefined;
      },
      TTL_MS + 10_000,
    );
    console.log(`      takeover from a paused (SIGSTOP) leader: ${Date.now() - stoppedAt} ms`);
    await new Promise((r) => setTimeout(r, Math.max(0, stoppedAt + 2 * TTL_MS - Date.now())));
    paused.proc.kill('SIGCONT');
    dead.delete(paused.id);
    // It wakes as a follower and stays one.
    await waitFor('the woken member as a follower', async () => {
      const health = await getJson<{ role: string }>(paused.listen, '/healthz');
      return health.role === 'follower';
    }).catch((err: Error) => {
      console.log(paused.proc.log.slice(-6_000));
      throw err;
    });
    // As a follower it executes queued work again (what it claims is checked by the duplicates).
    const wokeAt = Date.now();
    await waitFor('the woken member executing queued runs', async () =>
      (await rows('tick')).some((r) => r.member === paused.id && Date.parse(r.started_at ?? '') > wokeAt),
    );
    // Every member, the woken one included, names the same leader (a slow answer is retried).
    expect((await waitFor('an agreed leader', agreedLeader))?.id).to.equal(next.id);
    leader = next;
    await expectContinuous();
    expect(await duplicates()).to.deep.equal([]);
    expect(paused.proc.log).to.include('no longer the leader');
  });

  it('(e) a member killed with a run in flight: a live member records the run lost within TTL + 5 s', async () => {
    const via = alive().find((m) => m.id !== leader.id)!;
    // A manual run is queued and taken by any member: the victim is the one executing it.
    const res = await fetch(`http://${via.listen}/api/v1/jobs/sleeper/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).to.equal(202);
    const [id] = ((await res.json()) as { run_ids: string[] }).run_ids;
    const running = await waitFor('the sleeper started', async () =>
      (await rows('sleeper')).find((r) => r.id === id && r.started_at !== null),
    );
    const victim = alive().find((m) => m.id === running.member)!;
    const survivor = alive().find((m) => m.id !== victim.id)!;
    victim.proc.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.proc.exited;
    dead.add(victim.id);
    const lost = await waitFor(
      'the run recorded lost',
      async () => (await rows('sleeper')).find((r) => r.id === running.id && r.status === 'lost'),
      TTL_MS + 5_000,
    );
    console.log(`      run of a killed member recorded lost after ${Date.now() - killedAt} ms`);
    expect(lost.member).to.equal(victim.id);
    // Its notification is queued once.
    const outbox = await pool.query('SELECT count(*)::int AS n FROM outbox WHERE payload LIKE $1', [
      `%${running.id}%`,
    ]);
    expect((outbox.rows[0] as { n: number }).n).to.be.at.most(1);
    // By the leader, or (the victim led) by the member that took the lease over.
    expect(survivor.proc.log).to.include('runs of dead members are recorded as lost');
  });
});

describe('cluster: GET /api/v1/cluster on SQLite (a one-member cluster)', function () {
  this.timeout(30_000);
  it('answers self as leader with epoch 1', async () => {
    const env = new DaemonEnv();
    const listen = `127.0.0.1:${await freePort()}`;
    const daemon = await env.start({ listen, memberId: 'solo' });
    try {
      const view = await getJson<ClusterBody>(listen, '/api/v1/cluster');
      expect(view).to.deep.include({ self: 'solo', leader: 'solo', epoch: 1 });
      expect(view.members).to.have.length(1);
      expect(view.members[0]).to.include({
        id: 'solo',
        listen,
        pid: process.pid,
        alive: true,
        leader: true,
        heartbeat_age_ms: 0,
        runs_in_flight: 0,
      });
      expect((await getJson<{ role: string }>(listen, '/healthz')).role).to.equal('leader');
    } finally {
      await daemon.close();
      await env.cleanup();
    }
  });
});
