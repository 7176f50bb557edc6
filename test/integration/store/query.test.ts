import { expect } from 'chai';
import { isoUtc, type RunRecord, type RunStatus, type Trigger } from '../../../src/core/types.js';
import { InvalidRunQueryError } from '../../../src/store/queries.js';
import type { AsyncStore } from '../../../src/store/async-store.js';
import type { RunFilter } from '../../../src/store/store.js';
import { fakeRun, REFERENCE_TIME } from '../../harness/runs.js';
import { describeStores, rejection } from './stores.js';

const STATUSES: RunStatus[] = ['succeeded', 'failed', 'succeeded', 'timed_out', 'running'];
const TRIGGERS: Trigger[] = ['schedule', 'schedule', 'manual', 'retry', 'catch_up'];
const MINUTE = 60_000;

/** Run i: job-(i%4), node-(i%3), started i minutes after the reference (every 7th only scheduled). */
function datasetRun(i: number): RunRecord {
  const at = isoUtc(REFERENCE_TIME + i * MINUTE);
  const status = STATUSES[i % STATUSES.length]!;
  return fakeRun({
    job: `job-${i % 4}`,
    node: `node-${i % 3}`,
    status,
    trigger: TRIGGERS[i % TRIGGERS.length]!,
    scheduled_at: at,
    started_at: i % 7 === 0 ? null : at,
    stdout: `out ${i}`,
    stderr: `err ${i}`,
  });
}

function newestFirst(runs: RunRecord[]): string[] {
  return runs.map((r) => r.id).sort((a, b) => (a < b ? 1 : -1));
}

describeStores('store: queryRuns', (fx) => {
  let store: AsyncStore;
  let all: RunRecord[];

  async function ids(filter: Omit<RunFilter, 'limit'>, limit = 1000): Promise<string[]> {
    return (await store.queryRuns({ ...filter, limit })).runs.map((r) => r.id);
  }

  beforeEach(async () => {
    store = await fx.open();
    all = Array.from({ length: 120 }, (_, i) => datasetRun(i));
    await store.importRuns(all);
  });

  it('returns runs newest first by id', async () => {
    expect(await ids({})).to.deep.equal(newestFirst(all));
  });

  it('filters by job, node, status and trigger, alone and combined', async () => {
    const cases: [Omit<RunFilter, 'limit'>, (r: RunRecord) => boolean][] = [
      [{ job: 'job-1' }, (r) => r.job === 'job-1'],
      [{ node: 'node-2' }, (r) => r.node === 'node-2'],
      [{ status: 'failed' }, (r) => r.status === 'failed'],
      [{ trigger: 'retry' }, (r) => r.trigger === 'retry'],
      [{ job: 'job-1', status: 'failed' }, (r) => r.job === 'job-1' && r.status === 'failed'],
      [
        { job: 'job-2', node: 'node-0', trigger: 'schedule' },
        (r) => r.job === 'job-2' && r.node === 'node-0' && r.trigger === 'schedule',
      ],
    ];
    for (const [filter, match] of cases) {
      const expected = newestFirst(all.filter(match));
      expect(expected, JSON.stringify(filter)).to.have.length.greaterThan(0);
      expect(await ids(filter), JSON.stringify(filter)).to.deep.equal(expected);
    }
  });

  it('bounds by since (inclusive) and until (exclusive) on started_at, falling back to scheduled_at', async () => {
    const since = isoUtc(REFERENCE_TIME + 14 * MINUTE); // run 14 has no started_at
    const until = isoUtc(REFERENCE_TIME + 30 * MINUTE);
    const expected = newestFirst(all.slice(14, 30));
    expect(await ids({ since, until })).to.deep.equal(expected);
    expect(await ids({ since: '2026-11-26T10:00:00+01:00', until: '2026-11-26T09:01:00Z' })).to.deep.equal([
      all[0]!.id,
    ]);
    expect(await ids({ since: isoUtc(REFERENCE_TIME + 118 * MINUTE), job: 'job-3' })).to.deep.equal([
      all[119]!.id,
    ]);
  });

  it('answers time ranges exactly whether the matches are among the newest runs or far behind them', async () => {
    const DAY = 86_400_000;
    const at = (ms: number) => isoUtc(ms);
    const old = Array.from({ length: 30 }, (_, i) =>
      fakeRun({ scheduled_at: at(REFERENCE_TIME - DAY + i * MINUTE) }),
    );
    const recent = Array.from({ length: 1100 }, (_, i) =>
      fakeRun({ scheduled_at: at(REFERENCE_TIME + DAY + i) }),
    );
    const lateCatchUp = fakeRun({
      trigger: 'catch_up',
      started_at: null,
      scheduled_at: at(REFERENCE_TIME - DAY),
    });
    await store.importRuns([...old, ...recent, lateCatchUp]);
    const window = { since: at(REFERENCE_TIME - DAY), until: at(REFERENCE_TIME) };

    const oldPage = await store.queryRuns({ ...window, limit: 10 });
    expect(oldPage.runs.map((r) => r.id)).to.deep.equal([lateCatchUp.id, ...newestFirst(old).slice(0, 9)]);
    const rest = await store.queryRuns({ ...window, limit: 100, cursor: oldPage.nextCursor! });
    expect(rest.runs.map((r) => r.id)).to.deep.equal(newestFirst(old).slice(9));
    const recentPage = await store.queryRuns({ since: at(REFERENCE_TIME + DAY), limit: 10 });
    expect(recentPage.runs.map((r) => r.id)).to.deep.equal(newestFirst(recent).slice(0, 10));
  });

  it('rejects an unparsable since or until with a store error', async () => {
    const since = await rejection(store.queryRuns({ since: 'yesterday', limit: 5 }));
    expect(since).to.be.instanceOf(InvalidRunQueryError);
    expect(since.message).to.match(/store: since/);
    const until = await rejection(store.queryRuns({ until: '', limit: 5 }));
    expect(until).to.be.instanceOf(InvalidRunQueryError);
    expect(until.message).to.match(/store: until/);
  });

  it('leaves output out of list results unless withOutput is true', async () => {
    const listed = (await store.queryRuns({ limit: 1 })).runs[0]!;
    expect([listed.stdout, listed.stderr]).to.deep.equal(['', '']);
    const full = (await store.queryRuns({ limit: 1, withOutput: true })).runs[0]!;
    expect(full).to.deep.equal(all[119]);
    expect((await store.getRun(listed.id))!.stdout).to.equal('out 119');
  });

  it('pages with a cursor, visiting every run exactly once newest first, while runs are inserted', async () => {
    const expected = newestFirst(all);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const result = await store.queryRuns({ limit: 7, cursor });
      seen.push(...result.runs.map((r) => r.id));
      await store.insertRun(fakeRun({ status: 'running' }));
      if (result.nextCursor === null) break;
      cursor = result.nextCursor;
    }
    expect(seen).to.deep.equal(expected);
  });

  it('pages a filtered query and never returns an empty last page', async () => {
    const failed = newestFirst(all.filter((r) => r.status === 'failed')); // 24 runs
    const first = await store.queryRuns({ status: 'failed', limit: 12 });
    const second = await store.queryRuns({ status: 'failed', limit: 12, cursor: first.nextCursor! });
    expect([...first.runs, ...second.runs].map((r) => r.id)).to.deep.equal(failed);
    expect(second.nextCursor).to.equal(null);
  });

  it('rejects a cursor it did not make', async () => {
    for (const cursor of ['', 'not a cursor!', Buffer.from('01ABC').toString('base64url')]) {
      const err = await rejection(store.queryRuns({ limit: 5, cursor }));
      expect(err, cursor).to.be.instanceOf(InvalidRunQueryError);
      expect(err.message, cursor).to.match(/cursor/);
    }
  });

  it('clamps the limit to between 1 and 1000', async () => {
    expect((await store.queryRuns({ limit: 0 })).runs).to.have.length(1);
    expect((await store.queryRuns({ limit: 2.9 })).runs).to.have.length(2);
    await store.importRuns(Array.from({ length: 1000 }, () => fakeRun()));
    expect((await store.queryRuns({ limit: 5000 })).runs).to.have.length(1000);
  });
});
