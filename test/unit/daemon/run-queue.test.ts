import { expect } from 'chai';
import { ManualClock } from '../../../src/core/clock.js';
import { silentLogger } from '../../../src/core/log.js';
import type { JobDef, RunRecord } from '../../../src/core/types.js';
import { adhocJob } from '../../../src/daemon/adhoc.js';
import { parseQueuedJob, queueEntryOf } from '../../../src/daemon/queued-job.js';
import { rerunOfLost } from '../../../src/daemon/run-records.js';
import { RunQueueWorker } from '../../../src/daemon/run-queue.js';
import type { TakenExecution } from '../../../src/store/async-store.js';
import { fakeRun, REFERENCE_TIME } from '../../harness/runs.js';

const lost = (overrides: Partial<RunRecord> = {}): RunRecord =>
  fakeRun({ status: 'lost', node: 'db1', attempt: 1, parameters: { A: '1' }, ...overrides });

describe('run queue: what an entry carries', () => {
  it('names a job from a file, and carries an ad-hoc definition whole (script bytes included)', () => {
    const fileJob = { name: 'backup' } as JobDef;
    expect(queueEntryOf(fileJob, 'e1', true)).to.deep.equal({
      executionId: 'e1',
      job: 'backup',
      afterPrevious: true,
      jobDef: null,
    });
    const script = {
      kind: 'script' as const,
      source: 'inline',
      content: Buffer.from('#!/bin/sh\necho é\n'),
      sha256: 'x',
      interpreter: ['/bin/sh'],
      args: [],
      delivery: 'stdin' as const,
    };
    const adhoc = adhocJob({
      policy: { select: 'all', rolesMatch: 'any', labels: {}, placement: 'random' },
      command: script,
      environment: { A: 'b' },
    } as never);
    const entry = queueEntryOf(adhoc, 'e2', false);
    const back = parseQueuedJob(entry.jobDef!);
    expect(back).to.deep.equal(adhoc);
    expect(Buffer.isBuffer((back.command as typeof script).content)).to.equal(true);
  });
});

describe('run queue: rerun_lost', () => {
  const any = { rerunLost: true, policy: { select: 'any' as const } };
  const all = { rerunLost: true, policy: { select: 'all' as const } };

  it('gives a lost run of an opted-in job one new attempt of the same execution, placed anew for any', () => {
    const run = lost();
    const next = rerunOfLost(run, any, REFERENCE_TIME)!;
    expect(next.nodeKey).to.equal('*');
    expect(next.run).to.include({
      execution_id: run.execution_id,
      job: run.job,
      node: null,
      trigger: 'retry',
      attempt: 2,
      status: 'running',
      started_at: null,
      scheduled_at: run.scheduled_at,
      member: null,
    });
    expect(next.run.parameters).to.deep.equal({ A: '1' });
    expect(next.run.id).to.not.equal(run.id);
  });

  it('keeps an all run on its node (its claim key is the node)', () => {
    const next = rerunOfLost(lost({ node: 'web3' }), all, REFERENCE_TIME)!;
    expect(next).to.deep.include({ nodeKey: 'web3' });
    expect(next.run.node).to.equal('web3');
  });

  it('re-runs nothing for a job that does not opt in, or that is gone', () => {
    expect(rerunOfLost(lost(), { policy: { select: 'any' } }, REFERENCE_TIME)).to.equal(null);
    expect(rerunOfLost(lost(), undefined, REFERENCE_TIME)).to.equal(null);
  });
});

describe('run queue: a member takes work while it runs fewer than --max-runs', () => {
  const execution = (id: string, runs: number): TakenExecution => ({
    executionId: id,
    job: 'j',
    afterPrevious: false,
    jobDef: null,
    runs: Array.from({ length: runs }, () => fakeRun({ status: 'running' })),
    cancels: [],
  });

  it('takes whole executions while below the limit, and more once an ending one makes room', async () => {
    const queue = [execution('a', 2), execution('b', 1), execution('c', 1), execution('d', 1)];
    const limits: number[] = [];
    const ends = new Map<string, () => void>();
    const worker = new RunQueueWorker({
      store: {
        takeExecutions: (_member: string, limit: number) => {
          limits.push(limit);
          return Promise.resolve(queue.splice(0, limit));
        },
      },
      member: 'm1',
      maxRuns: 3,
      pollMs: 1_000,
      // A manual clock: the poll never comes, so only wake-ups make it look again.
      clock: new ManualClock(REFERENCE_TIME),
      logger: silentLogger(),
      execute: (taken) => new Promise<void>((resolve) => ends.set(taken.executionId, resolve)),
    });
    const settle = () => new Promise((r) => setTimeout(r, 20));
    worker.start();
    await settle();
    expect([...ends.keys()]).to.deep.equal(['a', 'b', 'c']);
    expect(worker.inFlight, 'runs of the executions taken whole').to.equal(4);
    ends.get('b')!();
    await settle();
    expect(limits, 'no room at 3 runs of 3').to.deep.equal([3]);
    ends.get('a')!();
    await settle();
    expect([...ends.keys()]).to.deep.equal(['a', 'b', 'c', 'd']);
    expect(limits).to.deep.equal([3, 2, 1]);
    expect(worker.inFlight).to.equal(2);
    await worker.close();
  });
});
