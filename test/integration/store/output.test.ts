import { expect } from 'chai';
import { isoUtc } from '../../../src/core/types.js';
import type { AsyncStore } from '../../../src/store/async-store.js';
import { fakeRun, REFERENCE_TIME } from '../../harness/runs.js';
import { describeStores } from './stores.js';

describeStores('store: live output chunks', (fx) => {
  let store: AsyncStore;

  beforeEach(async () => (store = await fx.open()));

  it('appends chunks, reads them from an offset in order, ignores a chunk stored twice', async () => {
    const run = fakeRun({ status: 'running' });
    await store.insertRun(run);
    await store.appendOutput([
      { run_id: run.id, offset: 0, stream: 'stdout', text: 'héllo\n' },
      { run_id: run.id, offset: 7, stream: 'stderr', text: 'oops\n' },
    ]);
    await store.appendOutput([
      { run_id: run.id, offset: 7, stream: 'stderr', text: 'oops\n' },
      { run_id: run.id, offset: 12, stream: 'stdout', text: 'bye\n' },
    ]);
    const all = await store.readOutput(run.id, 0, 100);
    expect(all.map((c) => [c.offset, c.stream, c.text])).to.deep.equal([
      [0, 'stdout', 'héllo\n'],
      [7, 'stderr', 'oops\n'],
      [12, 'stdout', 'bye\n'],
    ]);
    // A chunk that ends after the offset is included (the reader cuts it).
    expect((await store.readOutput(run.id, 6, 100)).map((c) => c.offset)).to.deep.equal([0, 7, 12]);
    expect((await store.readOutput(run.id, 7, 100)).map((c) => c.offset)).to.deep.equal([7, 12]);
    expect((await store.readOutput(run.id, 7, 1)).map((c) => c.offset)).to.deep.equal([7]);
    expect(await store.readOutput(run.id, 16, 100)).to.deep.equal([]);
    expect(await store.readOutput('nope', 0, 100)).to.deep.equal([]);
  });

  it('retention deletes a run with its chunks', async () => {
    const run = fakeRun({ finished_at: isoUtc(REFERENCE_TIME) });
    await store.insertRun(run);
    await store.appendOutput([{ run_id: run.id, offset: 0, stream: 'stdout', text: 'x' }]);
    expect(await store.pruneRuns(REFERENCE_TIME + 1, 10)).to.equal(1);
    expect(await store.readOutput(run.id, 0, 100)).to.deep.equal([]);
  });
});
