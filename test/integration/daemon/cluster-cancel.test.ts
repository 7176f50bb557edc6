/**
 * Cancelling a run through any member (SPEC §15, issue 16): two real daemon processes on one
 * real PostgreSQL database. A run executing on one member is cancelled through the other's API
 * (a request in the store, a NOTIFY, the executing member kills it); the nodes endpoint of
 * either member counts the run while it executes.
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

interface Member {
  id: string;
  listen: string;
  proc: DaemonProcess;
}

async function postJson(
  listen: string,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://${listen}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function sleepRunning(marker: string): boolean {
  try {
    execFileSync('pgrep', ['-f', marker]);
    return true;
  } catch {
    return false;
  }
}

describe('cluster: cancelling a run through any member', function () {
  this.timeout(180_000);
  let server: TestPostgres;
  let env: DaemonEnv;
  let database: string;
  let pool: pg.Pool;
  const marker = `distcron-cancel-${process.pid}-${Date.now()}`;
  const members: Member[] = [];

  const spawn = async (id: string): Promise<Member> => {
    const listen = `127.0.0.1:${await freePort()}`;
    const proc = new DaemonProcess([
      ...['--db', server.url(database), '--db-pool-size', '4', '--member-id', id],
      ...['--jobs-dir', env.jobsDir, '--nodes-dir', env.nodesDir, '--listen', listen],
      ...[
        '--timezone',
        'UTC',
        '--shutdown-grace',
        '1s',
        '--no-ui',
        '--lease-ttl',
        '3s',
        '--lease-renew',
        '1s',
      ],
    ]);
    const member = { id, listen, proc };
    members.push(member);
    await waitFor(`member ${id} answering`, async () => {
      const res = await fetch(`http://${listen}/healthz`).catch(() => null);
      return res?.ok === true;
    });
    return member;
  };

  before(async function () {
    const reason = postgresMissingReason();
    if (reason) skipSuite(this, 'cluster cancel', reason);
    server = await sharedPostgres();
    env = new DaemonEnv();
    env.writeNode('box', { roles: ['box'], connection_type: 'local', max_concurrent_runs: 8 });
    env.writeJob('long', {
      policy: { select: 'any', roles: ['box'] },
      overlap: 'allow',
      command: ['sh', '-c', 'sleep 60', marker],
    });
    database = server.createDatabase('cancel');
    const { default: pgModule } = await import('pg');
    pool = new pgModule.Pool({ connectionString: server.url(database), max: 2 });
    await spawn('a');
    await spawn('b');
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
  });

  it('kills a run executing on one member when asked through the other, and answers 409 once it is final', async () => {
    const started = await postJson(members[0]!.listen, '/api/v1/jobs/long/run');
    const runId = (started.body.run_ids as string[])[0]!;
    const executing = await waitFor('the run to start on a member', async () => {
      const { rows } = await pool.query<{ member: string | null; started_at: string | null }>(
        'SELECT member, started_at FROM runs WHERE id = $1',
        [runId],
      );
      return rows[0]?.started_at && sleepRunning(marker) ? rows[0].member : undefined;
    });
    const other = members.find((m) => m.id !== executing)!;
    const nodes = await (await fetch(`http://${other.listen}/api/v1/nodes/box`)).json();
    expect(nodes, 'the other member counts the run in flight').to.include({ runs_in_flight: 1 });

    const asked = Date.now();
    const cancel = await postJson(other.listen, `/api/v1/runs/${runId}/cancel`);
    expect(cancel).to.deep.equal({ status: 202, body: { id: runId, job: 'long', cancel_requested: true } });
    const final = await waitFor(
      'the run recorded cancelled',
      async () => {
        const { rows } = await pool.query<{ status: string; error: string }>(
          'SELECT status, error FROM runs WHERE id = $1',
          [runId],
        );
        return rows[0]?.status !== 'running' ? rows[0] : undefined;
      },
      20_000,
    );
    expect(final.status).to.equal('cancelled');
    expect(final.error).to.match(new RegExp(`cancelled through the API of member ${other.id}`));
    expect(Date.now() - asked, 'cancelled well before the sleep ends').to.be.below(20_000);
    await waitFor('the remote sleep to be gone', () => !sleepRunning(marker), 10_000);
    expect((await pool.query('SELECT * FROM run_cancels')).rowCount).to.equal(0);

    const again = await postJson(other.listen, `/api/v1/runs/${runId}/cancel`);
    expect(again.status).to.equal(409);
    const unknown = await postJson(other.listen, '/api/v1/runs/no-such-run/cancel');
    expect(unknown.status).to.equal(404);
  });
});
