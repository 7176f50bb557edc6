import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import type { RunRecord } from '../../../src/core/types.js';
import { DaemonProcess, readRuns, waitFor } from '../../harness/daemon-process.js';
import { localDaemonPerTest } from '../../harness/local-daemon.js';

/** Real daemon processes on a SQLite file, local nodes, pools in the default resources.d. */
describe('daemon: shared resource pools (resources.d)', function () {
  this.timeout(120_000);
  const local = localDaemonPerTest('distcron-pools');

  function writePool(name: string, body: object): void {
    mkdirSync(join(local.env.dir, 'resources.d'), { recursive: true });
    writeFileSync(join(local.env.dir, 'resources.d', `${name}.json`), JSON.stringify(body));
  }

  function everySecond(seconds: number, extra: object = {}): object {
    return {
      policy: { select: 'any', roles: ['local'] },
      schedule: '* * * * * *',
      command: ['sh', '-c', `sleep ${seconds}`, local.marker],
      catch_up: 'skip',
      ...extra,
    };
  }

  async function start(...extra: string[]): Promise<DaemonProcess> {
    const proc = local.spawn(local.env.processArgs(...extra));
    await waitFor('the daemon to be ready', () => proc.log.includes('distcron ready'));
    return proc;
  }

  async function stop(proc: DaemonProcess): Promise<void> {
    proc.kill('SIGTERM');
    expect((await proc.exited).code, proc.log).to.equal(0);
  }

  /** The daemon runs this long once ready, then stops with SIGTERM. */
  async function runFor(ms: number, ...extra: string[]): Promise<void> {
    const proc = await start(...extra);
    await new Promise((r) => setTimeout(r, ms));
    await stop(proc);
  }

  const started = (runs: RunRecord[]) => runs.filter((r) => r.started_at !== null);
  const ms = (iso: string | null) => Date.parse(iso!);

  it('a pool of capacity 1 shared by two jobs never has two holders, and serves waiters in order', async () => {
    writePool('db-conn', { capacity: 1 });
    for (const name of ['a', 'b'])
      local.env.writeJob(name, everySecond(1.5, { resources: { 'db-conn': 1 } }));
    await runFor(9_000);

    const runs = [...readRuns(local.env.dbPath, 'a'), ...readRuns(local.env.dbPath, 'b')];
    const ran = started(runs).sort((x, y) => ms(x.started_at) - ms(y.started_at));
    expect(ran.length, 'runs that held the pool').to.be.at.least(4);
    expect(new Set(ran.map((r) => r.job))).to.deep.equal(new Set(['a', 'b']));
    for (let i = 1; i < ran.length; i++) {
      const before = ran[i - 1]!;
      expect(ms(ran[i]!.started_at), `${ran[i]!.id} starts after ${before.id} finished`).to.be.at.least(
        ms(before.finished_at),
      );
      // FIFO: a run fired earlier (so queued earlier) is served first.
      expect(ran[i]!.scheduled_at! >= before.scheduled_at!, 'served in the order they queued').to.equal(true);
    }
    expect(runs.filter((r) => r.status === 'running')).to.deep.equal([]);
  });

  it('a run that waits longer than "resource_wait" is recorded skipped, naming the pool', async () => {
    writePool('backup-window', { capacity: 1 });
    local.env.writeJob('hog', everySecond(30, { resources: { 'backup-window': 1 }, overlap: 'skip' }));
    local.env.writeJob('eager', everySecond(0, { resources: { 'backup-window': 1 }, resource_wait: '1s' }));
    const proc = await start('--shutdown-grace', '0s');
    await waitFor(
      'two runs skipped for resources',
      () => readRuns(local.env.dbPath, 'eager').filter((r) => r.error?.includes('resource_wait')).length >= 2,
    );
    await stop(proc);

    const eager = readRuns(local.env.dbPath, 'eager');
    const skipped = eager.filter((r) => r.error?.includes('resource_wait'));
    for (const run of skipped) {
      expect(run.status).to.equal('skipped');
      expect(run.error).to.match(/waited 1s for resource pool "backup-window" \(capacity 1, all held\)/);
      expect(run.started_at).to.equal(null);
    }
    // The hog holds the pool throughout, except if eager won the very first race.
    expect(started(eager).length).to.be.at.most(1);
  });

  it('a pool of 5 per minute never lets more than 5 runs start in any 60 s window', async () => {
    writePool('api-quota', { per_minute: 5 });
    local.env.writeJob('ping', everySecond(0, { resources: { 'api-quota': 1 }, resource_wait: '2s' }));
    await runFor(20_000);

    const runs = readRuns(local.env.dbPath, 'ping');
    const starts = started(runs)
      .map((r) => ms(r.started_at))
      .sort((x, y) => x - y);
    expect(starts).to.have.length(5);
    const skipped = runs.filter((r) => r.status === 'skipped');
    expect(skipped.length).to.be.at.least(5);
    expect(skipped[0]!.error).to.match(/resource pool "api-quota" \(at most 5 per minute\)/);
  });

  it('a "<pool>@{node}" key gives each host its own pool of the declared size', async () => {
    local.env.writeNode('n1', { roles: ['io'], connection_type: 'local' });
    local.env.writeNode('n2', { roles: ['io'], connection_type: 'local' });
    writePool('nightly-io', { capacity: 1 });
    const perHost = { policy: { select: 'all', roles: ['io'] }, resources: { 'nightly-io@{node}': 1 } };
    local.env.writeJob('x', everySecond(1.5, perHost));
    local.env.writeJob('y', everySecond(1.5, perHost));
    await runFor(8_000);

    const ran = started([...readRuns(local.env.dbPath, 'x'), ...readRuns(local.env.dbPath, 'y')]);
    for (const node of ['n1', 'n2']) {
      const onNode = ran.filter((r) => r.node === node).sort((a, b) => ms(a.started_at) - ms(b.started_at));
      expect(onNode.length, `runs on ${node}`).to.be.at.least(3);
      for (let i = 1; i < onNode.length; i++)
        expect(ms(onNode[i]!.started_at)).to.be.at.least(ms(onNode[i - 1]!.finished_at));
    }
    // Different hosts do not share: some n1 run overlaps some n2 run.
    const overlaps = ran.some((a) =>
      ran.some(
        (b) =>
          a.node === 'n1' &&
          b.node === 'n2' &&
          ms(a.started_at) < ms(b.finished_at) &&
          ms(b.started_at) < ms(a.finished_at),
      ),
    );
    expect(overlaps, 'runs on n1 and n2 overlap').to.equal(true);
  });

  it('after kill -9 while a run holds a pool, the restarted daemon frees it', async () => {
    writePool('lock', { capacity: 1 });
    local.env.writeJob('holder', everySecond(300, { resources: { lock: 1 } }));
    const first = local.spawn(local.env.processArgs());
    const held = await waitFor('a run holding the pool', () =>
      readRuns(local.env.dbPath, 'holder').find((r) => r.status === 'running' && r.started_at),
    );
    expect(holdingsOf(local.env.dbPath).map((h) => h.run_id)).to.deep.equal([held.id]);
    first.kill('SIGKILL');
    await first.exited;
    execFileSync('pkill', ['-9', '-f', local.marker]);
    local.env.removeJob('holder');
    local.env.writeJob('next', everySecond(0, { resources: { lock: 1 }, resource_wait: '5s' }));

    local.spawn(local.env.processArgs());
    await waitFor('a run of the next job after the restart', () =>
      readRuns(local.env.dbPath, 'next').find((r) => r.status === 'succeeded'),
    );
    expect(readRuns(local.env.dbPath, 'holder').find((r) => r.id === held.id)?.status).to.equal('lost');
    expect(holdingsOf(local.env.dbPath).map((h) => h.run_id)).to.not.include(held.id);
  });
});

function holdingsOf(dbPath: string): { run_id: string; pool: string }[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT run_id, pool FROM resource_holdings').all() as {
      run_id: string;
      pool: string;
    }[];
  } finally {
    db.close();
  }
}
