/**
 * The shared run queue (SPEC §15, issue #16 items 4 and 5): three real daemon processes on one
 * real PostgreSQL database, local nodes. Every member executes queued work; a node's
 * max_concurrent_runs holds across members; work a killed member had taken but not started is
 * executed by another, once; a lost run is re-run only when its job says `rerun_lost`.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import type pg from 'pg';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { spawnMember, type Member } from '../../harness/cluster-members.js';
import { waitFor } from '../../harness/daemon-process.js';
import { postgresMissingReason, type TestPostgres } from '../../harness/postgres.js';
import { skipSuite } from '../../harness/skip.js';
import { sharedPostgres } from '../store/stores.js';

const TTL_MS = 3_000;

interface Row {
  id: string;
  execution_id: string;
  job: string;
  node: string | null;
  status: string;
  trigger: string;
  attempt: number;
  member: string | null;
  started_at: string | null;
  finished_at: string | null;
}

async function post(listen: string, path: string, body: object = {}): Promise<{ runIds: string[] }> {
  const res = await fetch(`http://${listen}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { run_ids?: string[]; runs?: { id: string }[] };
  if (res.status !== 202) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return { runIds: json.run_ids ?? (json.runs ?? []).map((r) => r.id) };
}

/** The `end` event of a run's SSE output stream, as one member serves it. */
async function streamEnd(
  listen: string,
  runId: string,
): Promise<{ status: string; exit_code: number | null }> {
  const res = await fetch(`http://${listen}/api/v1/runs/${runId}/output/stream`, {
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  const match = /event: end\ndata: (.*)\n/.exec(text);
  if (!match) throw new Error(`no end event in ${text.slice(-500)}`);
  return JSON.parse(match[1]!) as { status: string; exit_code: number | null };
}

describe('cluster: a shared run queue every member executes', function () {
  this.timeout(180_000);
  let server: TestPostgres;
  let env: DaemonEnv;
  let database: string;
  let pool: pg.Pool;
  const marker = `distcron-queue-${process.pid}-${Date.now()}`;
  const members = new Map<string, Member>();

  const rows = async (job: string): Promise<Row[]> =>
    (await pool.query<Row>('SELECT * FROM runs WHERE job = $1 ORDER BY id', [job])).rows;
  const runById = async (id: string): Promise<Row | undefined> =>
    (await pool.query<Row>('SELECT * FROM runs WHERE id = $1', [id])).rows[0];
  const alive = () =>
    [...members.values()].filter((m) => m.proc.child.exitCode === null && !m.proc.child.killed);

  const spawn = async (id: string): Promise<Member> => {
    const member = await spawnMember(id, {
      ...{ url: server.url(database), env, poolSize: 4 },
      listen: members.get(id)?.listen,
    });
    const { listen } = member;
    members.set(id, member);
    await waitFor(`member ${id} answering`, async () => {
      const res = await fetch(`http://${listen}/healthz`).catch(() => null);
      return res?.ok === true;
    });
    return member;
  };

  const killNine = async (m: Member) => {
    m.proc.kill('SIGKILL');
    await m.proc.exited;
  };

  before(async function () {
    const reason = postgresMissingReason();
    if (reason) skipSuite(this, 'cluster queue', reason);
    server = await sharedPostgres();
    env = new DaemonEnv();
    env.writeNode('local', { roles: ['local'], connection_type: 'local', max_concurrent_runs: 64 });
    env.writeNode('solo', { roles: ['solo'], connection_type: 'local', max_concurrent_runs: 1 });
    env.writeNode('gate', { roles: ['gate'], connection_type: 'local', max_concurrent_runs: 1 });
    const job = (roles: string[], command: string[], extra: object = {}) => ({
      policy: { select: 'any', roles },
      overlap: 'allow',
      command,
      ...extra,
    });
    env.writeJob('burst', job(['local'], ['sh', '-c', 'sleep 0.5']));
    env.writeJob('solo', job(['solo'], ['sh', '-c', 'sleep 0.2']));
    env.writeJob('hold', job(['gate'], ['sh', '-c', 'sleep 6', marker]));
    env.writeJob('next', job(['gate'], ['sh', '-c', 'echo next']));
    env.writeJob('lost_no', job(['local'], ['sh', '-c', 'sleep 4', marker]));
    env.writeJob('lost_yes', job(['local'], ['sh', '-c', 'sleep 4', marker], { rerun_lost: true }));
    database = server.createDatabase('queue');
    const { default: pgModule } = await import('pg');
    pool = new pgModule.Pool({ connectionString: server.url(database), max: 2 });
    await Promise.all(['m1', 'm2', 'm3'].map((id) => spawn(id)));
  });

  after(async () => {
    for (const m of members.values()) if (m.proc.child.exitCode === null) m.proc.kill('SIGKILL');
    await Promise.all([...members.values()].map((m) => m.proc.exited));
    try {
      execFileSync('pkill', ['-9', '-f', marker]);
    } catch {
      // nothing left
    }
    await pool?.end();
    if (database) server.psql(`DROP DATABASE ${database} WITH (FORCE)`);
    await env?.cleanup();
  });

  it('spreads a burst of runs over the members, each recording the member that executed it', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) {
      const via = [...members.values()][i % 3]!;
      ids.push(...(await post(via.listen, '/api/v1/jobs/burst/run')).runIds);
    }
    const done = await waitFor('every burst run final', async () => {
      const all = await rows('burst');
      return all.length === ids.length && all.every((r) => r.status !== 'running') ? all : undefined;
    });
    expect(done.map((r) => r.status)).to.deep.equal(ids.map(() => 'succeeded'));
    const executors = new Set(done.map((r) => r.member));
    expect([...executors].every((m) => ['m1', 'm2', 'm3'].includes(m!))).to.equal(true);
    expect(executors.size, 'members that executed runs').to.be.greaterThan(1);
    expect(await pool.query('SELECT * FROM run_queue')).to.have.property('rowCount', 0);
  });

  it('a manual run POSTed to a follower executes and that member serves its final record', async () => {
    const leader = (await (await fetch(`http://${members.get('m1')!.listen}/api/v1/cluster`)).json()) as {
      leader: string;
    };
    const follower = alive().find((m) => m.id !== leader.leader)!;
    const { runIds } = await post(follower.listen, '/api/v1/jobs/solo/run');
    expect(await streamEnd(follower.listen, runIds[0]!)).to.deep.equal({ status: 'succeeded', exit_code: 0 });
    const res = await fetch(`http://${follower.listen}/api/v1/runs/${runIds[0]}`);
    const run = (await res.json()) as { status: string; member: string };
    expect(run.status).to.equal('succeeded');
    expect(['m1', 'm2', 'm3']).to.include(run.member);
  });

  it('max_concurrent_runs 1 on a node holds across three members: its runs never overlap', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) {
      const via = alive()[i % alive().length]!;
      ids.push(...(await post(via.listen, '/api/v1/jobs/solo/run')).runIds);
    }
    const done = await waitFor(
      'every solo run final',
      async () => {
        const all = (await rows('solo')).filter((r) => ids.includes(r.id));
        return all.length === ids.length && all.every((r) => r.status !== 'running') ? all : undefined;
      },
      60_000,
    );
    expect(done.every((r) => r.status === 'succeeded')).to.equal(true);
    expect(new Set(done.map((r) => r.member)).size, 'members that ran on the node').to.be.greaterThan(1);
    const spans = done
      .map((r) => [Date.parse(r.started_at!), Date.parse(r.finished_at!)] as const)
      .sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++)
      expect(spans[i]![0], `run ${i} starts after run ${i - 1} finished`).to.be.at.least(spans[i - 1]![1]);
  });

  it('kill -9 of a member holding work it had not started: another member executes it, once', async () => {
    const via = alive()[0]!;
    const [holdId] = (await post(via.listen, '/api/v1/jobs/hold/run')).runIds;
    await waitFor('the hold run started', async () => (await runById(holdId!))?.started_at ?? undefined);
    const [nextId] = (await post(via.listen, '/api/v1/jobs/next/run')).runIds;
    // Taken by a member and waiting there for the node's only slot.
    const taken = await waitFor(
      'the next run taken',
      async () => (await runById(nextId!))?.member ?? undefined,
    );
    const victim = members.get(taken)!;
    await killNine(victim);
    const final = await waitFor(
      'the next run executed elsewhere',
      async () => {
        const run = await runById(nextId!);
        return run && run.status !== 'running' ? run : undefined;
      },
      TTL_MS + 20_000,
    );
    expect(final.status).to.equal('succeeded');
    expect(final.member).to.not.equal(victim.id);
    const all = await rows('next');
    expect(all, 'runs of the next job').to.have.length(1);
    await spawn(victim.id);
  });

  it('a lost run gets one new attempt only when its job says rerun_lost', async () => {
    const via = alive()[0]!;
    const [noId] = (await post(via.listen, '/api/v1/jobs/lost_no/run')).runIds;
    const [yesId] = (await post(via.listen, '/api/v1/jobs/lost_yes/run')).runIds;
    const started = await waitFor('both runs started', async () => {
      const runs = await Promise.all([runById(noId!), runById(yesId!)]);
      return runs.every((r) => r?.started_at) ? (runs as Row[]) : undefined;
    });
    const executors = new Set(started.map((r) => r.member!));
    for (const id of executors) await killNine(members.get(id)!);
    await waitFor(
      'both recorded lost',
      async () => {
        const runs = await Promise.all([runById(noId!), runById(yesId!)]);
        return runs.every((r) => r?.status === 'lost');
      },
      TTL_MS + 20_000,
    );
    const rerun = await waitFor(
      'the rerun of lost_yes finished',
      async () => (await rows('lost_yes')).find((r) => r.attempt === 2 && r.status !== 'running'),
      30_000,
    );
    expect(rerun).to.include({ status: 'succeeded', trigger: 'retry' });
    expect(rerun.execution_id).to.equal(started[1]!.execution_id);
    expect(executors.has(rerun.member!)).to.equal(false);
    expect((await rows('lost_yes')).map((r) => r.attempt)).to.deep.equal([1, 2]);
    expect((await rows('lost_no')).map((r) => r.status)).to.deep.equal(['lost']);
  });
});
