import { expect } from 'chai';
import { isoUtc, type RunRecord } from '../../../src/core/types.js';
import { ClaimConflictError } from '../../../src/store/sqlite.js';
import type { FireClaim, OutboxEntry } from '../../../src/store/store.js';
import { fakeRun, REFERENCE_TIME } from '../../harness/runs.js';
import { TempStore } from './temp-store.js';

const AT = REFERENCE_TIME;

function claimFor(runs: { run: RunRecord; nodeKey: string }[], outbox: OutboxEntry[] = []): FireClaim {
  return { job: 'backup', scheduledAt: AT, advanceTo: AT, runs, outbox };
}

function runningOn(node: string, overrides: Partial<RunRecord> = {}): RunRecord {
  return fakeRun({ status: 'running', node, scheduled_at: isoUtc(AT), ...overrides });
}

describe('SQLite store: fire claims', () => {
  let temp: TempStore;

  beforeEach(() => (temp = new TempStore()));
  afterEach(() => temp.cleanup());

  it('inserts the runs and advances the last scheduled instant when a fire is claimed', () => {
    const store = temp.open();
    const a = runningOn('db1');
    const b = runningOn('db2', { execution_id: a.execution_id });
    expect(
      store.claimFire(
        claimFor([
          { run: a, nodeKey: 'db1' },
          { run: b, nodeKey: 'db2' },
        ]),
      ),
    ).to.equal(true);
    expect(store.getRun(a.id)).to.deep.equal(a);
    expect(store.getRun(b.id)).to.deep.equal(b);
    expect(store.getJobState('backup')!.lastScheduledAt).to.equal(AT);
    expect(store.countRunning('backup')).to.equal(2);
  });

  it('refuses a second claim of the same fire and writes nothing for it', () => {
    const store = temp.open();
    expect(store.claimFire(claimFor([{ run: runningOn('db1'), nodeKey: '*' }]))).to.equal(true);
    const again = runningOn('db2');
    const outbox = [{ sink: 'notify' as const, key: 'x', payload: {} }];
    expect(store.claimFire(claimFor([{ run: again, nodeKey: '*' }], outbox))).to.equal(false);
    expect(store.getRun(again.id)).to.equal(undefined);
    expect(store.outboxBacklog().notify).to.equal(0);
  });

  it('refuses a claimed fire after the database file is closed and reopened', () => {
    const first = temp.open();
    expect(first.claimFire(claimFor([{ run: runningOn('db1'), nodeKey: 'db1' }]))).to.equal(true);
    first.close();
    const reopened = temp.open();
    expect(reopened.claimFire(claimFor([{ run: runningOn('db1'), nodeKey: 'db1' }]))).to.equal(false);
    expect(reopened.queryRuns({ limit: 10 }).runs).to.have.length(1);
  });

  it('is all-or-nothing: one taken key among several rolls back the whole claim', () => {
    const store = temp.open();
    store.claimFire(claimFor([{ run: runningOn('db2'), nodeKey: 'db2' }]));
    const later = AT + 60_000;
    const fresh = runningOn('db1');
    const taken = runningOn('db2');
    const claim = {
      ...claimFor(
        [
          { run: fresh, nodeKey: 'db1' },
          { run: taken, nodeKey: 'db2' },
        ],
        [{ sink: 'elasticsearch' as const, key: fresh.id, payload: {} }],
      ),
      advanceTo: later,
    };
    expect(store.claimFire(claim)).to.equal(false);
    expect(store.getRun(fresh.id)).to.equal(undefined);
    expect(store.getJobState('backup')!.lastScheduledAt).to.equal(AT);
    expect(store.outboxBacklog().elasticsearch).to.equal(0);
  });

  it('rolls back the claim keys when inserting a run fails', () => {
    const store = temp.open();
    const existing = fakeRun();
    store.insertRun(existing);
    const duplicateId = runningOn('db1', { id: existing.id });
    expect(() => store.claimFire(claimFor([{ run: duplicateId, nodeKey: 'db1' }]))).to.throw();
    expect(store.claimFire(claimFor([{ run: runningOn('db1'), nodeKey: 'db1' }]))).to.equal(true);
  });

  describe('several claims in one transaction (a catch-up series)', () => {
    const at = (n: number) => AT + n * 60_000;
    const claimAt = (
      n: number,
      run: RunRecord = fakeRun({ status: 'running', scheduled_at: isoUtc(at(n)) }),
    ) => ({
      job: 'backup',
      scheduledAt: at(n),
      advanceTo: at(3),
      runs: [{ run, nodeKey: '*' }],
    });

    it('stores each and advances the job once', () => {
      const store = temp.open();
      expect(store.claimFires([claimAt(1), claimAt(2), claimAt(3)])).to.deep.equal([true, true, true]);
      expect(store.countRunning('backup')).to.equal(3);
      expect(store.getJobState('backup')!.lastScheduledAt).to.equal(at(3));
    });

    it('reports a claim already taken as false and still stores the others', () => {
      const store = temp.open();
      store.claimFires([claimAt(2)]);
      expect(store.claimFires([claimAt(1), claimAt(2), claimAt(3)])).to.deep.equal([true, false, true]);
      expect(store.countRunning('backup')).to.equal(3);
    });

    it('stores none of them when a write fails part-way: no run left running that never starts', () => {
      const store = temp.open();
      const existing = fakeRun();
      store.insertRun(existing);
      const broken = fakeRun({ id: existing.id, status: 'running', scheduled_at: isoUtc(at(2)) });
      expect(() => store.claimFires([claimAt(1), claimAt(2, broken), claimAt(3)])).to.throw();
      expect(store.countRunning('backup')).to.equal(0);
      expect(store.getJobState('backup')?.lastScheduledAt ?? null).to.equal(null);
      expect(store.claimFires([claimAt(1), claimAt(2), claimAt(3)])).to.deep.equal([true, true, true]);
    });
  });

  it('treats other attempts, nodes and instants of the same job as distinct fires', () => {
    const store = temp.open();
    const base = { run: runningOn('db1'), nodeKey: 'db1' };
    expect(store.claimFire(claimFor([base]))).to.equal(true);
    expect(store.claimFire(claimFor([{ run: runningOn('db2'), nodeKey: 'db2' }]))).to.equal(true);
    const nextMinute = { ...claimFor([{ run: runningOn('db1'), nodeKey: 'db1' }]), scheduledAt: AT + 60_000 };
    expect(store.claimFire(nextMinute)).to.equal(true);
    expect(
      store.claimFire({ ...claimFor([{ run: runningOn('db1'), nodeKey: 'db1' }]), job: 'other' }),
    ).to.equal(true);
  });

  it('never moves the last scheduled instant backwards through a claim', () => {
    const store = temp.open();
    store.claimFire({ ...claimFor([{ run: runningOn('db1'), nodeKey: 'db1' }]), advanceTo: AT + 120_000 });
    store.claimFire({ ...claimFor([{ run: runningOn('db2'), nodeKey: 'db2' }]), advanceTo: AT + 60_000 });
    expect(store.getJobState('backup')!.lastScheduledAt).to.equal(AT + 120_000);
  });

  it('records runs inserted already final as the job outcome and queues their outbox entries', () => {
    const store = temp.open();
    const missed = fakeRun({ status: 'missed', started_at: null, duration_ms: null, exit_code: null });
    const outbox = [{ sink: 'notify' as const, key: `run:${missed.id}`, payload: { kind: 'run_finished' } }];
    expect(store.claimFire(claimFor([{ run: missed, nodeKey: '*' }], outbox))).to.equal(true);
    expect(store.getJobState('backup')).to.deep.include({ lastStatus: 'missed', lastRunId: missed.id });
    expect(store.takeOutbox('notify', 10, temp.clock.now()).map((i) => i.key)).to.deep.equal([
      `run:${missed.id}`,
    ]);
  });

  it('insertRun with a node key claims the retry attempt, once', () => {
    const store = temp.open();
    const retry = runningOn('db1', { trigger: 'retry', attempt: 2 });
    store.insertRun(retry, 'db1');
    const duplicate = runningOn('db1', { trigger: 'retry', attempt: 2 });
    expect(() => store.insertRun(duplicate, 'db1')).to.throw(ClaimConflictError, /already claimed/);
    expect(store.getRun(duplicate.id)).to.equal(undefined);
    expect(store.claimFire(claimFor([{ run: runningOn('db1', { attempt: 2 }), nodeKey: 'db1' }]))).to.equal(
      false,
    );
  });

  it('insertRun of a run without a scheduled instant claims by its execution', () => {
    const store = temp.open();
    const manual = fakeRun({ trigger: 'manual', scheduled_at: null, status: 'running', attempt: 2 });
    store.insertRun(manual, '*');
    expect(() => store.insertRun({ ...manual, id: 'another-id' }, '*')).to.throw(ClaimConflictError);
    store.insertRun({ ...manual, id: 'no-claim-wanted' });
    expect(store.countRunning()).to.equal(2);
  });
});
