import { expect } from 'chai';
import { RunSummaryCache } from '../../../src/store/summary-cache.js';

const summary = (n: number, id = `run-${n}`) => ({ id, json: `{"id":"${id}","n":${n}}` });

function fill(cache: RunSummaryCache, from: number, to: number): void {
  for (let n = from; n < to; n++) cache.put(n, summary(n));
}

describe('store: run summary cache', () => {
  it('returns what was put under a rowid', () => {
    const cache = new RunSummaryCache(10);
    cache.put(7, summary(7));
    expect(cache.get(7)).to.deep.equal(summary(7));
    expect(cache.get(8)).to.equal(undefined);
  });

  it('never holds more summaries than its capacity', () => {
    for (const capacity of [1, 2, 3, 10, 101]) {
      const cache = new RunSummaryCache(capacity);
      for (let n = 0; n < capacity * 5; n++) {
        cache.put(n, summary(n));
        expect(cache.size).to.be.at.most(capacity);
      }
      expect(cache.get(capacity * 5 - 1)).to.deep.equal(summary(capacity * 5 - 1));
    }
  });

  it('keeps a summary that is read at least once per half a capacity of new ones', () => {
    const cache = new RunSummaryCache(100);
    cache.put(0, summary(0));
    for (let round = 0; round < 20; round++) {
      fill(cache, 1000 + round * 50, 1000 + (round + 1) * 50);
      expect(cache.get(0), `round ${round}`).to.deep.equal(summary(0));
    }
  });

  it('evicts summaries that are not read while many new ones arrive', () => {
    const cache = new RunSummaryCache(100);
    fill(cache, 0, 10);
    fill(cache, 1000, 1100);
    for (let n = 0; n < 10; n++) expect(cache.get(n)).to.equal(undefined);
  });

  it('forgets a run by its id, in either generation', () => {
    const cache = new RunSummaryCache(10);
    fill(cache, 0, 8); // 0-4 moved to the old generation at the fifth
    cache.forget('run-1');
    cache.forget('run-6');
    expect(cache.get(1)).to.equal(undefined);
    expect(cache.get(6)).to.equal(undefined);
    expect(cache.get(2)).to.deep.equal(summary(2));
    expect(cache.get(7)).to.deep.equal(summary(7));
  });

  it('replaces the summary of a rowid, in either generation, and forgets the new one by its id', () => {
    const cache = new RunSummaryCache(6);
    cache.put(1, summary(1));
    cache.put(1, summary(2, 'run-other'));
    expect(cache.get(1)).to.deep.equal(summary(2, 'run-other'));
    cache.put(5, summary(5));
    cache.put(6, summary(6)); // the third summary: 1, 5 and 6 are now the old generation
    cache.put(5, summary(7, 'run-seven'));
    expect(cache.size).to.equal(3);
    cache.forget('run-other');
    cache.forget('run-seven');
    expect([cache.get(1), cache.get(5), cache.get(6)]).to.deep.equal([undefined, undefined, summary(6)]);
  });

  it('holds nothing with capacity 0, and nothing after clear()', () => {
    const none = new RunSummaryCache(0);
    none.put(1, summary(1));
    expect(none.get(1)).to.equal(undefined);
    const cache = new RunSummaryCache(10);
    fill(cache, 0, 8);
    cache.clear();
    expect(cache.size).to.equal(0);
    expect(cache.get(3)).to.equal(undefined);
  });
});
