import { expect } from 'chai';
import { silentLogger } from '../../../src/core/log.js';
import { LiveOutput, type LiveChunk } from '../../../src/daemon/live-output.js';
import type { AsyncStore } from '../../../src/store/async-store.js';
import type { OutputChunk } from '../../../src/store/store.js';

/** Just the chunk methods, in memory. */
function memoryStore(): { store: AsyncStore; rows: OutputChunk[] } {
  const rows: OutputChunk[] = [];
  const store = {
    appendOutput: async (chunks: readonly OutputChunk[]) => {
      for (const c of chunks) if (!rows.some((r) => r.offset === c.offset)) rows.push(c);
    },
  } as unknown as AsyncStore;
  return { store, rows };
}

describe('daemon: live output of a run', () => {
  it('numbers chunks by UTF-8 byte offset across both streams, holding back a split character', async () => {
    const { store, rows } = memoryStore();
    const live = new LiveOutput(store, silentLogger());
    const seen: LiveChunk[] = [];
    live.push('r1', 'n1', 1024, 'stdout', Buffer.from('a'));
    live.get('r1')!.listeners.add({ chunk: (c) => seen.push(c), end: () => undefined });
    const e = Buffer.from('é'); // 2 bytes
    live.push('r1', 'n1', 1024, 'stdout', e.subarray(0, 1));
    live.push('r1', 'n1', 1024, 'stderr', Buffer.from('err\n'));
    live.push('r1', 'n1', 1024, 'stdout', Buffer.concat([e.subarray(1), Buffer.from('\n')]));
    expect(seen.map((c) => [c.offset, c.end, c.stream, c.text])).to.deep.equal([
      [1, 5, 'stderr', 'err\n'],
      [5, 8, 'stdout', 'é\n'],
    ]);
    await live.close('r1');
    expect(rows.map((r) => [r.offset, r.stream, r.text])).to.deep.equal([
      [0, 'stdout', 'a'],
      [1, 'stderr', 'err\n'],
      [5, 'stdout', 'é\n'],
    ]);
  });

  it('stores the head as it comes and the tail at the end, within the cap per stream; followers see all', async () => {
    const { store, rows } = memoryStore();
    const live = new LiveOutput(store, silentLogger());
    let seenBytes = 0;
    live.push('r2', 'n1', 100, 'stdout', Buffer.from('x'.repeat(10)));
    live.get('r2')!.listeners.add({ chunk: (c) => (seenBytes += c.end - c.offset), end: () => undefined });
    for (let i = 0; i < 100; i++) live.push('r2', 'n1', 100, 'stdout', Buffer.from(`${i % 10}`.repeat(10)));
    await live.close('r2');
    expect(seenBytes).to.equal(1000);
    const stored = rows.reduce((n, r) => n + Buffer.byteLength(r.text), 0);
    expect(stored).to.be.at.most(100);
    // Head: the first 50 bytes; tail: the last 50 bytes, at their true offsets.
    const sorted = [...rows].sort((a, b) => a.offset - b.offset);
    expect(sorted[0]!.offset).to.equal(0);
    expect(sorted.map((r) => r.text).join('')).to.equal(
      'x'.repeat(10) + '0123'.replace(/./g, (d) => d.repeat(10)) + '56789'.replace(/./g, (d) => d.repeat(10)),
    );
    expect(sorted.at(-1)!.offset + Buffer.byteLength(sorted.at(-1)!.text)).to.equal(1010);
  });

  it('ends followers after the run is recorded, and forgets the run', async () => {
    const { store } = memoryStore();
    const live = new LiveOutput(store, silentLogger());
    let woke = false;
    const cancel = live.whenLive('r3', () => (woke = true));
    live.push('r3', 'n1', 100, 'stdout', Buffer.from('hi\n'));
    expect(woke).to.equal(true);
    cancel();
    const ends: unknown[] = [];
    live.get('r3')!.listeners.add({ chunk: () => undefined, end: (e) => ends.push(e) });
    await live.close('r3');
    live.ended('r3', { status: 'succeeded', exit_code: 0 });
    expect(ends).to.deep.equal([{ status: 'succeeded', exit_code: 0 }]);
    expect(live.get('r3')).to.equal(undefined);
  });
});
