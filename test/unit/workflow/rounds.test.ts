import { expect } from 'chai';
import { isoUtc, type DependencySpec, type RunRecord } from '../../../src/core/types.js';
import { completionsOf, counts, type Completion } from '../../../src/workflow/completions.js';
import { evaluateRound, type LastRound } from '../../../src/workflow/rounds.js';
import { fakeRun } from '../../harness/runs.js';

const T0 = Date.parse('2026-11-26T09:00:00.000Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

/** A final run of execution `execution` on `node` that finished at T0 + `at`. */
function run(execution: string, node: string, at: number, overrides: Partial<RunRecord> = {}): RunRecord {
  return fakeRun({
    execution_id: execution,
    node,
    started_at: isoUtc(T0 + at - 1000),
    finished_at: isoUtc(T0 + at),
    ...overrides,
  });
}

function completion(executionId: string, at: number, hosts = 1, succeeded = hosts): Completion {
  return { executionId, completedAt: T0 + at, hosts, succeeded, runIds: [`${executionId}-run`] };
}

const NO_RETRIES = { retries: 0 };

describe('workflow: parent completions', () => {
  it('completes an `all` execution when its last host run finishes, counting the hosts that succeeded', () => {
    const runs = [run('e1', 'a', 1000), run('e1', 'b', 3000, { status: 'failed' }), run('e1', 'c', 2000)];
    expect(completionsOf(runs, NO_RETRIES)).to.deep.equal([
      { executionId: 'e1', completedAt: T0 + 3000, hosts: 3, succeeded: 2, runIds: runs.map((r) => r.id) },
    ]);
  });

  it('does not complete an execution with a host still running', () => {
    const runs = [run('e1', 'a', 1000), run('e1', 'b', 0, { status: 'running', finished_at: null })];
    expect(completionsOf(runs, NO_RETRIES)).to.deep.equal([]);
  });

  it('waits for the retry of a failed attempt with attempts left, and counts the last attempt only', () => {
    const first = run('e1', 'a', 1000, { status: 'failed' });
    expect(completionsOf([first], { retries: 1 })).to.deep.equal([]);
    const retry = run('e1', 'b', 5000, { attempt: 2, trigger: 'retry' });
    const [done] = completionsOf([first, retry], { retries: 1 });
    expect(done).to.deep.include({ completedAt: T0 + 5000, hosts: 1, succeeded: 1, runIds: [retry.id] });
  });

  it('keeps each host of an `all` execution apart across retries', () => {
    const runs = [
      run('e1', 'a', 1000, { status: 'failed' }),
      run('e1', 'b', 1000),
      run('e1', 'a', 4000, { attempt: 2, trigger: 'retry' }),
    ];
    expect(completionsOf(runs, { retries: 1 })[0]).to.deep.include({ hosts: 2, succeeded: 2 });
  });

  it('counts no skipped or missed record as a completion', () => {
    const runs = [run('e1', 'a', 1000, { status: 'skipped' }), run('e2', 'a', 2000, { status: 'missed' })];
    expect(completionsOf(runs, NO_RETRIES)).to.deep.equal([]);
  });

  it('matches `success` to every host (or one with hosts: any), `failure` to the rest, `done` to both', () => {
    const partly = completion('e1', 0, 4, 3);
    expect(counts(partly, { on: 'success', hosts: 'all' })).to.equal(false);
    expect(counts(partly, { on: 'success', hosts: 'any' })).to.equal(true);
    expect(counts(partly, { on: 'failure', hosts: 'all' })).to.equal(true);
    expect(counts(partly, { on: 'failure', hosts: 'any' })).to.equal(false);
    expect(counts(partly, { on: 'done', hosts: 'all' })).to.equal(true);
    expect(counts(completion('e2', 0, 4, 0), { on: 'failure', hosts: 'any' })).to.equal(true);
  });
});

describe('workflow: dependency rounds', () => {
  const spec: DependencySpec = {
    parents: [
      { job: 'a', on: 'success', hosts: 'all' },
      { job: 'b', on: 'done', hosts: 'all' },
    ],
    windowMs: 24 * HOUR,
  };
  const baseline: LastRound = { round: 0, firedAt: T0, parents: {} };

  it('is due when every parent completed since the baseline, consuming the latest completion of each', () => {
    const completions = new Map([
      ['a', [completion('a1', 1 * MIN), completion('a2', 2 * MIN)]],
      ['b', [completion('b1', 3 * MIN, 1, 0)]],
    ]);
    const state = evaluateRound(spec, baseline, completions, T0 + 4 * MIN);
    expect(state.due).to.equal(true);
    expect(state.round).to.equal(1);
    expect(state.parents.map((p) => p.completion?.executionId)).to.deep.equal(['a2', 'b1']);
  });

  it('waits while one parent has not completed (AND, not OR)', () => {
    const completions = new Map([['a', [completion('a1', MIN)]]]);
    const state = evaluateRound(spec, baseline, completions, T0 + 2 * MIN);
    expect(state.due).to.equal(false);
    expect(state.parents.map((p) => p.completion?.executionId ?? null)).to.deep.equal(['a1', null]);
  });

  it('does not count a completion of the wrong kind', () => {
    const completions = new Map([
      ['a', [completion('a1', MIN, 1, 0)]],
      ['b', [completion('b1', MIN)]],
    ]);
    expect(evaluateRound(spec, baseline, completions, T0 + 2 * MIN).due).to.equal(false);
  });

  it('does not count completions the last round consumed, or older ones', () => {
    const last: LastRound = {
      round: 4,
      firedAt: T0 + 10 * MIN,
      parents: { a: { completedAt: T0 + 9 * MIN }, b: { completedAt: T0 + 8 * MIN } },
    };
    const completions = new Map([
      ['a', [completion('a-old', 9 * MIN), completion('a-new', 11 * MIN)]],
      ['b', [completion('b-consumed', 8 * MIN)]],
    ]);
    const state = evaluateRound(spec, last, completions, T0 + 12 * MIN);
    expect(state.due).to.equal(false);
    expect(state.round).to.equal(5);
    expect(state.parents[0]!.completion?.executionId).to.equal('a-new');
    // A completion between the consumed one and the last fire still counts for the next round.
    const late = new Map([...completions, ['b', [completion('b-late', 9 * MIN)]]]);
    expect(evaluateRound(spec, last, late, T0 + 12 * MIN).due).to.equal(true);
  });

  it('does not count a completion older than the window', () => {
    const completions = new Map([
      ['a', [completion('a1', MIN)]],
      ['b', [completion('b1', 26 * HOUR)]],
    ]);
    const state = evaluateRound(spec, baseline, completions, T0 + 26 * HOUR + MIN);
    expect(state.due).to.equal(false);
    expect(state.parents[0]!.since).to.equal(T0 + 2 * HOUR + MIN);
  });
});
