/**
 * Reading a run's output from an offset (SPEC §17): the store's chunks, then what this member
 * holds in memory for a run executing here. See live-output.ts for what an offset is.
 */
import type { RunRecord } from '../core/types.js';
import type { AsyncStore } from '../store/async-store.js';
import { chunkFrom, RECENT_BYTES, type LiveChunk, type LiveOutput } from './live-output.js';

export interface OutputPage {
  chunks: LiveChunk[];
  /** Offset after the last chunk read (or `from` when none). */
  next: number;
}

const PAGE_ROWS = 256;

export class RunOutput {
  /** SSE followers now, per run and in all (bounded: see MAX_FOLLOWERS). */
  readonly followers = new Map<string, number>();
  followerCount = 0;

  constructor(
    private readonly store: AsyncStore,
    readonly live: LiveOutput | undefined,
  ) {}

  /** Chunks from `from` on, about `maxBytes` at most (whole chunks; at least one). */
  async read(run: RunRecord, from: number, maxBytes: number): Promise<OutputPage> {
    const live = this.live?.get(run.id);
    const chunks: LiveChunk[] = [];
    let pos = from;
    let bytes = 0;
    const ringStart = live ? live.recentStart : Infinity;
    const add = (c: LiveChunk) => {
      chunks.push(c);
      bytes += c.end - c.offset;
      pos = c.end;
    };
    let sawStored = false;
    while (pos < ringStart && bytes < maxBytes) {
      const rows = await this.store.readOutput(run.id, pos, PAGE_ROWS);
      let stop = rows.length < PAGE_ROWS;
      for (const r of rows) {
        sawStored = true;
        if (r.offset >= ringStart || bytes >= maxBytes) {
          stop = true;
          break;
        }
        const c = chunkFrom(r, pos);
        const end = r.offset + Buffer.byteLength(r.text);
        const gap =
          c.offset > pos ? `\n[... distcron: ${c.offset - pos} bytes not stored (output cap) ...]\n` : '';
        add({ offset: pos, end, stream: c.stream, text: gap + c.text });
      }
      if (stop) break;
    }
    if (live) {
      for (const c of live.recent) {
        if (c.end <= pos) continue;
        if (bytes >= maxBytes) break;
        add(chunkFrom({ offset: c.offset, end: c.end, stream: c.stream, text: c.text }, pos));
      }
    } else if (!sawStored && run.status !== 'running' && pos === from) {
      // A run from before live output was stored (or one that never produced chunks): its columns.
      for (const c of columnChunks(run)) if (c.end > pos) add(chunkFrom(c, pos));
    }
    return { chunks, next: pos };
  }

  /** Where a new follower starts: at most the last RECENT_BYTES, at a chunk boundary. */
  async tailStart(run: RunRecord): Promise<number> {
    const live = this.live?.get(run.id);
    if (live) {
      const want = live.offset - RECENT_BYTES;
      return live.recent.find((c) => c.offset >= want)?.offset ?? live.offset;
    }
    const ends: { offset: number; end: number }[] = [];
    let pos = 0;
    for (;;) {
      const page = await this.read(run, pos, 4 * 1024 * 1024);
      for (const c of page.chunks) ends.push({ offset: c.offset, end: c.end });
      if (page.next === pos) break;
      pos = page.next;
    }
    const want = pos - RECENT_BYTES;
    return ends.find((c) => c.offset >= want)?.offset ?? pos;
  }
}

/** A finished run's stored stdout then stderr, as chunks. */
function columnChunks(run: RunRecord): LiveChunk[] {
  const out: LiveChunk[] = [];
  let pos = 0;
  for (const stream of ['stdout', 'stderr'] as const) {
    const text = run[stream] ?? '';
    if (text === '') continue;
    const end = pos + Buffer.byteLength(text);
    out.push({ offset: pos, end, stream, text });
    pos = end;
  }
  return out;
}
