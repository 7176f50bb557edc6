import { expect } from 'chai';
import { isoUtc, type RunRecord } from '../../../src/core/types.js';
import type { SqliteStore } from '../../../src/store/sqlite.js';
import type { RunFilter } from '../../../src/store/store.js';
import { fakeRun, finishedRun, REFERENCE_TIME } from '../../harness/runs.js';
import { TempStore } from './temp-store.js';

const MINUTE = 60_000;

/** What the run list must answer: the runs of queryRuns (never cached) without their output. */
function expectedPage(store: SqliteStore, filter: RunFilter) {
  const page = store.queryRuns(filter);
  return {
    runs: page.runs.map(({ stdout: _o, stderr: _e, ...summary }) => summary),
    nextCursor: page.nextCursor,
  };
}

function listedPage(store: SqliteStore, filter: RunFilter) {
  const page = store.queryRunsJson(filter);
  return { runs: page.runsJson.map((text) => JSON.parse(text) as unknown), nextCursor: page.nextCursor };
}

function listedRun(store: SqliteStore, id: string, filter: RunFilter = { limit: 1000 }): unknown {
  return listedPage(store, filter).runs.find((r) => (r as { id: string }).id === id);
}

describe('SQLite store: cached run summaries', () => {
  let temp: TempStore;
  let store: SqliteStore;
  let runs: RunRecord[];

  beforeEach(() => {
    temp = new TempStore();
    store = temp.open();
    runs = Array.from({ length: 60 }, (_, i) =>
      fakeRun({
        job: `job-${i % 3}`,
        status: i % 10 === 9 ? 'running' : i % 2 === 0 ? 'failed' : 'succeeded',
        scheduled_at: isoUtc(REFERENCE_TIME + i * MINUTE),
        error: i % 4 === 0 ? `quote " backslash \\ newline \n ✓ ${i}` : null,
        output_truncated: i % 5 === 0,
        stdout: `out ${i}`,
      }),
    );
    for (const run of runs) store.insertRun(run);
  });
  afterEach(() => temp.cleanup());

  it('serves the same pages from the cache as from the table, for every filter shape and page', () => {
    const filters: RunFilter[] = [
      { limit: 50 },
      { limit: 7, job: 'job-1' },
      { limit: 5, job: 'job-2', status: 'failed' },
      { limit: 9, status: 'succeeded' },
      { limit: 4, since: isoUtc(REFERENCE_TIME + 20 * MINUTE) },
      { limit: 6, job: 'job-0', until: isoUtc(REFERENCE_TIME + 40 * MINUTE) },
    ];
    for (const filter of filters) {
      let cursor: string | undefined;
      do {
        const page = { ...filter, ...(cursor === undefined ? {} : { cursor }) };
        const first = listedPage(store, page);
        const again = listedPage(store, page); // served from the cache
        expect(first, JSON.stringify(page)).to.deep.equal(expectedPage(store, page));
        expect(again, JSON.stringify(page)).to.deep.equal(first);
        cursor = first.nextCursor ?? undefined;
      } while (cursor !== undefined);
    }
    expect(store.cachedSummaryCount).to.equal(runs.filter((r) => r.status !== 'running').length);
  });

  it('never caches a running run: its finish shows on the next list', () => {
    const running = runs[59]!;
    expect(listedRun(store, running.id)).to.include({ status: 'running', finished_at: null });
    expect(listedRun(store, running.id)).to.include({ status: 'running' });
    const finished = finishedRun(running, { status: 'failed', exit_code: 3, error: 'boom' });
    store.finishRun(finished, []);
    const { stdout: _o, stderr: _e, ...summary } = finished;
    expect(listedRun(store, running.id)).to.deep.equal(summary);
  });

  it('shows a start recorded for a run already listed', () => {
    const queued = fakeRun({ status: 'running', node: null, host: null, started_at: null });
    store.insertRun(queued);
    expect(listedRun(store, queued.id)).to.include({ node: null, started_at: null });
    store.markStarted(queued.id, { node: 'web1', host: '10.0.0.9', started_at: isoUtc(REFERENCE_TIME) });
    expect(listedRun(store, queued.id)).to.include({ node: 'web1', host: '10.0.0.9' });
  });

  it('shows a finished run written again by this store, even when only a few of the page are new', () => {
    const filter = { limit: 10, job: 'job-0' };
    listedPage(store, filter);
    const target = runs.filter((r) => r.job === 'job-0' && r.status === 'failed').at(-1)!;
    store.finishRun({ ...target, status: 'cancelled', error: 'cancelled by the operator' }, []);
    expect(listedPage(store, filter)).to.deep.equal(expectedPage(store, filter));
    expect(listedRun(store, target.id)).to.include({ status: 'cancelled' });
  });

  it('lists a new finished run at the top of a cached page', () => {
    const filter = { limit: 10, job: 'job-0' };
    listedPage(store, filter);
    const newer = fakeRun({ job: 'job-0', status: 'timed_out', scheduled_at: isoUtc(REFERENCE_TIME) });
    store.insertRun(newer);
    const page = listedPage(store, filter);
    expect(page).to.deep.equal(expectedPage(store, filter));
    expect((page.runs[0] as { id: string }).id).to.equal(newer.id);
  });

  it('shows a change written through another connection on the next list', () => {
    const target = runs[10]!;
    expect(listedRun(store, target.id)).to.include({ status: target.status });
    const other = temp.open();
    other.finishRun({ ...target, status: 'lost', error: 'written by another daemon' }, []);
    expect(listedRun(store, target.id)).to.include({ status: 'lost', error: 'written by another daemon' });
    expect(listedPage(store, { limit: 100 })).to.deep.equal(expectedPage(store, { limit: 100 }));
  });

  it('drops a pruned run and lists the run inserted after it (which reuses its rowid)', () => {
    // Finished before every other run, so retention takes it first; inserted last, so it has the
    // highest rowid, which SQLite hands out again once it is deleted.
    const oldest = fakeRun({ status: 'succeeded', scheduled_at: isoUtc(REFERENCE_TIME - 60 * MINUTE) });
    store.insertRun(oldest);
    listedPage(store, { limit: 100 });
    expect(store.pruneRuns(REFERENCE_TIME, 1)).to.equal(1);
    const later = fakeRun({ status: 'failed', scheduled_at: isoUtc(REFERENCE_TIME) });
    store.insertRun(later);
    expect(listedPage(store, { limit: 100 })).to.deep.equal(expectedPage(store, { limit: 100 }));
    expect(listedRun(store, later.id)).to.include({ status: 'failed' });
    expect(listedRun(store, oldest.id)).to.equal(undefined);
  });

  it('does not keep what a list read inside a batch that was then undone', () => {
    const running = runs[49]!;
    expect(() =>
      store.batch(() => {
        store.finishRun(finishedRun(running), []);
        expect(listedRun(store, running.id)).to.include({ status: 'succeeded' });
        throw new Error('undo');
      }),
    ).to.throw('undo');
    expect(listedRun(store, running.id)).to.include({ status: 'running' });
  });

  it('stays exact while most pages are read once, and again once pages repeat', () => {
    const pages: RunFilter[] = [];
    let cursor: string | undefined;
    do {
      const page: RunFilter = { limit: 1, ...(cursor === undefined ? {} : { cursor }) };
      pages.push(page);
      cursor = store.queryRuns(page).nextCursor ?? undefined;
    } while (cursor !== undefined);
    for (const page of pages) expect(listedPage(store, page)).to.deep.equal(expectedPage(store, page));
    const repeated = { limit: 20, job: 'job-1' };
    const target = runs.filter((r) => r.job === 'job-1' && r.status !== 'running').at(-1)!;
    const other = temp.open();
    for (let round = 0; round < 30; round++) {
      if (round === 20) other.finishRun({ ...target, status: 'lost', error: 'another daemon' }, []);
      expect(listedPage(store, repeated), `round ${round}`).to.deep.equal(expectedPage(store, repeated));
    }
    expect(listedRun(store, target.id, repeated)).to.include({ status: 'lost' });
  });

  it('answers the same pages with the cache turned off', () => {
    const uncached = temp.open({ summaryCacheEntries: 0 });
    for (const filter of [{ limit: 13 }, { limit: 3, job: 'job-1', status: 'succeeded' as const }]) {
      expect(listedPage(uncached, filter)).to.deep.equal(listedPage(store, filter));
      expect(listedPage(uncached, filter)).to.deep.equal(expectedPage(store, filter));
    }
    expect(uncached.cachedSummaryCount).to.equal(0);
  });
});
