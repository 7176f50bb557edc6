import { expect } from 'chai';
import { isoUtc } from '../../../src/core/types.js';
import type { AsyncStore } from '../../../src/store/async-store.js';
import { ROUNDS_KEPT } from '../../../src/store/rounds-sql.js';
import type { DependencyRound } from '../../../src/store/store.js';
import { fakeRun, REFERENCE_TIME } from '../../harness/runs.js';
import { describeStores } from './stores.js';

const AT = REFERENCE_TIME;

function round(n: number, overrides: Partial<DependencyRound> = {}): DependencyRound {
  return {
    job: 'verify',
    round: n,
    firedAt: AT + n * 1000,
    executionId: n === 0 ? null : `exec-${n}`,
    parents: n === 0 ? {} : { dump: { executionId: 'e1', completedAt: AT + 500, runIds: ['r1', 'r2'] } },
    ...overrides,
  };
}

describeStores('store: dependency rounds', (fx) => {
  let store: AsyncStore;

  beforeEach(async () => (store = await fx.open()));

  it('has no round for a job never seen, then reads back the newest round as claimed', async () => {
    expect(await store.lastDependencyRound('verify')).to.equal(undefined);
    expect(await store.claimDependencyRound(round(0))).to.equal(true);
    expect(await store.claimDependencyRound(round(1))).to.equal(true);
    expect(await store.lastDependencyRound('verify')).to.deep.equal(round(1));
    expect(await store.lastDependencyRound('other')).to.equal(undefined);
  });

  it('claims each (job, round) once: a second claim is refused and changes nothing', async () => {
    expect(await store.claimDependencyRound(round(1))).to.equal(true);
    expect(await store.claimDependencyRound(round(1, { executionId: 'exec-other' }))).to.equal(false);
    expect((await store.lastDependencyRound('verify'))?.executionId).to.equal('exec-1');
  });

  it('stores none of the child runs when the round claim is refused inside the transaction', async () => {
    await store.claimDependencyRound(round(1));
    const run = fakeRun({ job: 'verify', status: 'running', scheduled_at: null });
    const taken = await store.transaction(async (tx) => {
      if (!(await tx.claimDependencyRound(round(1)))) return false;
      await tx.insertRun(run);
      return true;
    });
    expect(taken).to.equal(false);
    expect(await store.getRun(run.id)).to.equal(undefined);
  });

  it(`keeps the newest ${ROUNDS_KEPT} rounds of a job as new ones are claimed`, async () => {
    await store.claimDependencyRound(round(1));
    await store.claimDependencyRound(round(ROUNDS_KEPT + 1, { job: 'other' }));
    expect(await store.claimDependencyRound(round(ROUNDS_KEPT + 2))).to.equal(true);
    // Round 1 of verify is gone: claiming it again succeeds; other's round is untouched.
    expect(await store.claimDependencyRound(round(1))).to.equal(true);
    expect(await store.claimDependencyRound(round(ROUNDS_KEPT + 1, { job: 'other' }))).to.equal(false);
    expect((await store.lastDependencyRound('verify'))?.round).to.equal(ROUNDS_KEPT + 2);
  });

  it('reads every run of the executions that finished after a time, newest executions first, without output', async () => {
    const old = fakeRun({ scheduled_at: isoUtc(AT - 60_000) });
    const a1 = fakeRun({ scheduled_at: isoUtc(AT) });
    const a2 = fakeRun({ execution_id: a1.execution_id, node: 'db2', status: 'running' });
    const skipped = fakeRun({ scheduled_at: isoUtc(AT + 1000), status: 'skipped' });
    const b = fakeRun({ scheduled_at: isoUtc(AT + 2000), status: 'failed', exit_code: 1 });
    const other = fakeRun({ job: 'other', scheduled_at: isoUtc(AT) });
    await store.importRuns([old, a1, a2, skipped, b, other]);
    const runs = await store.recentExecutionRuns('backup', AT - 1, 10);
    expect(runs.map((r) => r.id).sort()).to.deep.equal([a1.id, a2.id, b.id].sort());
    expect(runs.every((r) => r.stdout === '')).to.equal(true);
    const newest = await store.recentExecutionRuns('backup', AT - 1, 1);
    expect(newest.map((r) => r.id)).to.deep.equal([b.id]);
  });
});
