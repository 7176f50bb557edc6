/**
 * The daemon on PostgreSQL (`--db postgres://…`, SPEC §15): one server per test run (shared with
 * the store suite), a fresh database per test. Without PostgreSQL a loud SKIPPED line (a failure
 * under CI=true).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { ManualClock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/log.js';
import { startDaemon } from '../../../src/daemon/daemon.js';
import { DaemonEnv, runsOfAsync } from '../../harness/daemon-env.js';
import { DaemonProcess, waitFor } from '../../harness/daemon-process.js';
import { freePort } from '../../harness/ports.js';
import { postgresMissingReason, type TestPostgres } from '../../harness/postgres.js';
import { skipSuite } from '../../harness/skip.js';
import { useSshHosts } from '../../harness/ssh-fixture.js';
import { sharedPostgres } from '../store/stores.js';

const T0 = Date.parse('2026-11-26T09:00:00.000Z');
const MIN = 60_000;
const at = (m: number) => new Date(T0 + m * MIN).toISOString();

describe('daemon on PostgreSQL', function () {
  this.timeout(120_000);
  let server: TestPostgres;
  let env: DaemonEnv;
  let database: string;
  let url: string;
  const procs: DaemonProcess[] = [];
  let marker: string;

  before(async function () {
    const reason = postgresMissingReason();
    if (reason) skipSuite(this, 'daemon on PostgreSQL', reason);
    server = await sharedPostgres();
  });

  beforeEach(() => {
    env = new DaemonEnv();
    env.writeNode('local', { roles: ['local'], connection_type: 'local' });
    database = server.createDatabase('daemon');
    // trust authentication ignores the password: it is there to prove it is never logged.
    url = server.url(database).replace('postgres://postgres@', 'postgres://postgres:s3cret-pw@');
    marker = `distcron-pg-${process.pid}-${Date.now()}`;
  });

  afterEach(async () => {
    for (const p of procs.splice(0)) if (p.child.exitCode === null) p.kill('SIGKILL');
    try {
      execFileSync('pkill', ['-9', '-f', marker]);
    } catch {
      // nothing left
    }
    await env.cleanup();
    server.psql(`DROP DATABASE ${database} WITH (FORCE)`);
  });

  const processArgs = () => [
    ...['--jobs-dir', env.jobsDir, '--nodes-dir', env.nodesDir],
    ...['--listen', 'off', '--timezone', 'UTC', '--shutdown-grace', '1s'],
    ...['--lease-ttl', '3s', '--lease-renew', '1s'],
  ];

  it('runs a scheduled job, lists it over the API, runs it manually, and keeps enable/disable across a restart', async () => {
    expect(url).to.include('s3cret-pw');
    env.writeJob('tick', {
      policy: { select: 'any', roles: ['local'] },
      schedule: '* * * * * *',
      command: ['sh', '-c', 'echo tick'],
    });
    env.writeJob('by-hand', { policy: { select: 'any', roles: ['local'] }, command: ['echo', 'hand'] });
    const listen = `127.0.0.1:${await freePort()}`;
    const lines: string[] = [];
    const logger = createLogger('debug', { write: (line: string) => void lines.push(line) });
    const daemon = await env.start({ dbPath: url, listen }, { logger });
    expect(daemon.store.kind).to.equal('postgres');
    const done = await waitFor('a scheduled run', async () =>
      // An instant between loading the job and winning the lease (a loaded machine) is a catch-up.
      (await runsOfAsync(daemon, 'tick')).find((r) => r.status === 'succeeded' && r.trigger === 'schedule'),
    );
    expect(done).to.include({ node: 'local', stdout: 'tick\n' });
    // A fire later than --grace (a loaded CI machine) is a catch_up of the same schedule.
    expect(done.trigger).to.be.oneOf(['schedule', 'catch_up']);
    const listed = (await (await fetch(`http://${listen}/api/v1/runs?job=tick`)).json()) as {
      runs: { id: string }[];
    };
    expect(listed.runs.map((r) => r.id)).to.include(done.id);

    const started = await daemon.control.runJob('by-hand', {});
    const manual = await daemon.control.waitForRun(started.runIds[0]!);
    expect(manual).to.include({ status: 'succeeded', trigger: 'manual', stdout: 'hand\n' });
    expect((await daemon.control.getJob('by-hand'))?.lastRun?.id).to.equal(manual.id);

    await daemon.control.setJobEnabled('tick', false);
    await daemon.close();
    const again = await startDaemon(env.options({ dbPath: url }), { logger });
    try {
      const view = await again.control.getJob('tick');
      expect(view).to.include({ enabled: false, enabledOverride: false });
      expect((await again.control.getJob('by-hand'))?.lastRun?.id).to.equal(manual.id);
    } finally {
      await again.close();
    }
    expect(lines.join('')).to.include('store: opened');
    expect(lines.join('')).to.not.include('s3cret-pw');
  });

  it('catches up after downtime from the instant stored in PostgreSQL', async () => {
    env.writeNode('web1');
    env.writeJob('nightly', {
      policy: { select: 'any', roles: ['web'] },
      schedule: '*/10 * * * *',
      catch_up: 'all',
      command: ['true'],
    });
    const clock = new ManualClock(T0);
    const first = await env.startScripted(clock, { dbPath: url });
    await first.daemon.close();
    clock.set(T0 + 35 * MIN);
    const second = await env.startScripted(clock, { dbPath: url });
    const runs = await waitFor('three catch-up runs', async () => {
      const found = await runsOfAsync(second.daemon, 'nightly');
      return found.filter((r) => r.status === 'succeeded').length === 3 ? found : undefined;
    });
    expect(runs.map((r) => [r.scheduled_at, r.trigger, r.status])).to.deep.equal([
      [at(10), 'catch_up', 'succeeded'],
      [at(20), 'catch_up', 'succeeded'],
      [at(30), 'catch_up', 'succeeded'],
    ]);
  });

  it('refuses a second daemon with the same member id, naming the first; one with its own id joins without touching its runs; never logs the password', async () => {
    env.writeJob('long', {
      policy: { select: 'any', roles: ['local'] },
      schedule: '* * * * * *',
      overlap: 'skip',
      command: ['sh', '-c', 'sleep 300', marker],
    });
    const first = await env.start({ dbPath: url, shutdownGraceMs: 0, memberId: 'm1' });
    const running = await waitFor('a running run', async () =>
      (await runsOfAsync(first, 'long')).find((r) => r.status === 'running' && r.started_at),
    );
    expect(running.member).to.equal('m1');
    const twin = new DaemonProcess([...processArgs(), '--member-id', 'm1'], { DISTCRON_DB: url });
    procs.push(twin);
    expect((await twin.exited).code).to.equal(1);
    expect(twin.log).to.include(`another distcron daemon (pid ${process.pid} on`);
    expect(twin.log).to.include('uses the member id m1');
    expect(twin.log).to.not.include('s3cret-pw');
    const second = new DaemonProcess([...processArgs(), '--member-id', 'm2'], { DISTCRON_DB: url });
    procs.push(second);
    await waitFor('the second member', async () =>
      (await first.control.cluster()).members.find((m) => m.id === 'm2' && m.alive),
    );
    const view = await first.control.cluster();
    expect(view).to.include({ self: 'm1', leader: 'm1' });
    const after = await runsOfAsync(first, 'long');
    expect(after.find((r) => r.id === running.id)!.status).to.equal('running');
    expect(after.filter((r) => r.status === 'lost')).to.deep.equal([]);
    expect(after.filter((r) => r.member !== 'm1')).to.deep.equal([]);
    second.kill('SIGTERM');
    expect((await second.exited).code).to.equal(0);
    expect(second.log).to.not.include('s3cret-pw');
  });

  it('marks a run in flight at kill -9 lost once the dead member’s heartbeat is older than the TTL', async () => {
    env.writeJob('long', {
      policy: { select: 'any', roles: ['local'] },
      schedule: '* * * * * *',
      overlap: 'skip',
      command: ['sh', '-c', 'sleep 300', marker],
    });
    const first = new DaemonProcess(['--db', url, ...processArgs()]);
    procs.push(first);
    const probe = await startProbe(url);
    try {
      const running = await waitFor('a running run', async () =>
        (await probe.runs('long')).find((r) => r.status === 'running' && r.started_at),
      );
      first.kill('SIGKILL');
      await first.exited;
      expect(first.log).to.not.include('s3cret-pw');
      const next = new DaemonProcess(['--db', url, ...processArgs()]);
      procs.push(next);
      await waitFor('the lost run', async () =>
        (await probe.runs('long')).find((r) => r.id === running.id && r.status === 'lost'),
      );
      expect(next.child.exitCode).to.equal(null);
      next.kill('SIGTERM');
      expect((await next.exited).code).to.equal(0);
      expect(next.log).to.not.include('s3cret-pw');
    } finally {
      await probe.close();
    }
  });
});

/** Reads runs from the database as an operator would, outside any daemon. */
async function startProbe(url: string) {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  return {
    runs: async (job: string) => {
      try {
        const result = await pool.query<{ id: string; status: string; started_at: string | null }>(
          'SELECT id, status, started_at FROM runs WHERE job = $1 ORDER BY id',
          [job],
        );
        return result.rows;
      } catch {
        return []; // not migrated yet
      }
    },
    close: () => pool.end(),
  };
}

describe('daemon on PostgreSQL: an SSH job (real sshd)', function () {
  this.timeout(120_000);
  const fixture = useSshHosts('daemon on PostgreSQL: SSH', { count: 1 });
  let server: TestPostgres;
  let env: DaemonEnv;
  let database: string;

  before(async function () {
    const reason = postgresMissingReason();
    if (reason) skipSuite(this, 'daemon on PostgreSQL: SSH', reason);
    server = await sharedPostgres();
  });
  beforeEach(() => {
    env = new DaemonEnv();
    database = server.createDatabase('daemonssh');
  });
  afterEach(async () => {
    await env.cleanup();
    server.psql(`DROP DATABASE ${database} WITH (FORCE)`);
  });

  it('runs a scheduled job over SSH and records it in PostgreSQL', async () => {
    const hosts = fixture.hosts;
    env.writeNode('h0', {
      roles: ['remote'],
      connection_type: 'ssh',
      connection_options: {
        ssh_host: hosts.hostPort(0),
        ssh_user: hosts.user,
        ssh_private_key_file: hosts.clientKeyFile,
      },
    });
    env.writeJob('remote', {
      policy: { select: 'all', roles: ['remote'] },
      schedule: '* * * * * *',
      overlap: 'skip',
      shell_command: 'echo over-ssh',
    });
    const daemon = await env.start({
      dbPath: server.url(database),
      knownHostsFile: hosts.knownHostsFile,
      sshConnectTimeoutMs: 3000,
    });
    const run = await waitFor('an SSH run', async () =>
      (await runsOfAsync(daemon, 'remote')).find((r) => r.status === 'succeeded'),
    );
    expect(run).to.include({ node: 'h0', stdout: 'over-ssh\n' });
    expect(run.trigger).to.be.oneOf(['schedule', 'catch_up']);
  });
});
