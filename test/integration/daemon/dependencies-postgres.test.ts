import { expect } from 'chai';
import type { RunRecord } from '../../../src/core/types.js';
import type { Daemon } from '../../../src/daemon/daemon.js';
import { DaemonEnv, runsOfAsync } from '../../harness/daemon-env.js';
import { waitFor } from '../../harness/daemon-process.js';
import { postgresMissingReason, type TestPostgres } from '../../harness/postgres.js';
import { skipSuite } from '../../harness/skip.js';
import { sharedPostgres } from '../store/stores.js';

describe('job dependencies on PostgreSQL with two members', function () {
  this.timeout(120_000);
  let server: TestPostgres;
  let database: string;
  const env = new DaemonEnv();

  before(async function () {
    const reason = postgresMissingReason();
    if (reason) skipSuite(this, 'job dependencies on PostgreSQL', reason);
    server = await sharedPostgres();
    database = server.createDatabase('deps');
  });
  after(async () => {
    await env.cleanup();
    server?.psql(`DROP DATABASE ${database} WITH (FORCE)`);
  });

  it('never fires a round twice when parents complete on both members at once', async () => {
    env.writeNode('local', { roles: ['local'], connection_type: 'local' });
    const job = { policy: { select: 'any', roles: ['local'] }, shell_command: 'true' };
    env.writeJob('parent', { ...job, schedule: '@manual' });
    env.writeJob('child', { ...job, after: [{ job: 'parent', on: 'done' }] });
    const member = (id: string) =>
      env.start({ dbPath: server.url(database), memberId: id, leaseTtlMs: 3000, leaseRenewMs: 1000 });
    const members: Daemon[] = [await member('a'), await member('b')];
    const parentRuns: RunRecord[] = [];
    for (let wave = 0; wave < 5; wave++) {
      // Both members run the parent at the same moment; each evaluates the child when its run ends.
      const started = await Promise.all(members.map((m) => m.control.runJob('parent', {})));
      const finished = await Promise.all(
        started.map(({ runIds }, i) => members[i]!.control.waitForRun(runIds[0]!)),
      );
      parentRuns.push(...finished);
      await waitFor('the child of this wave', async () => {
        const runs = await runsOfAsync(members[0]!, 'child');
        const done = runs.filter((r) => r.status !== 'running');
        return done.some((r) => r.parentRuns!.some((id) => finished.some((f) => f.id === id)));
      });
    }
    const children = (await runsOfAsync(members[0]!, 'child')).filter((r) => r.trigger === 'dependency');
    // One or two rounds per wave, depending on who saw which completion first — never one twice.
    expect(children.length).to.be.within(5, 10);
    const consumed = children.flatMap((r) => r.parentRuns!);
    expect(new Set(consumed).size).to.equal(consumed.length);
    expect(consumed.every((id) => parentRuns.some((p) => p.id === id))).to.equal(true);
    const rounds = server.psql(
      `SELECT count(*) FROM dependency_rounds WHERE job = 'child' AND round > 0`,
      database,
    );
    expect(Number(rounds.trim())).to.equal(children.length);
  });
});
