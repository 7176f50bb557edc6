/**
 * Live output of the runs executing on this member (SPEC §17, issue #18).
 *
 * Offsets: a run's output is one byte sequence, the chunks of stdout and stderr in the order
 * they arrived, each decoded to text (lossy UTF-8, see decodeLossy; a character split between
 * two reads is held back until its rest arrives) and counted in the UTF-8 bytes of that text.
 * A chunk's offset is where it starts; an SSE event's id is where it ends.
 *
 * Followers of a run executing here get every chunk as it arrives, from memory; chunks are
 * appended to the store in batches (every FLUSH_MS or FLUSH_BYTES), so other members and a
 * restarted daemon serve what was written. The stored copy obeys the output cap per stream:
 * the head (first half of the cap) as it comes, the tail (last half) when the run ends; what
 * lies between is left out (a gap in the offsets). Chunks stay until retention prunes the run.
 */
import type { Logger } from '../core/log.js';
import { decodeLossy } from '../exec/output.js';
import type { AsyncStore } from '../store/async-store.js';
import type { OutputChunk } from '../store/store.js';

export type OutputStream = 'stdout' | 'stderr';

export interface LiveChunk {
  offset: number;
  /** Offset just after it (the SSE id). */
  end: number;
  stream: OutputStream;
  text: string;
}

export interface RunEnd {
  status: string;
  exit_code: number | null;
}

export interface LiveListener {
  chunk(chunk: LiveChunk, node: string): void;
  end(end: RunEnd): void;
}

/** How much recent output each live run keeps in memory for new followers (and more if unflushed). */
export const RECENT_BYTES = 64 * 1024;
const FLUSH_MS = 200;
const FLUSH_BYTES = 64 * 1024;
/** Stored rows are merged up to this size. */
const ROW_BYTES = 64 * 1024;

interface Held extends LiveChunk {
  bytes: number;
  stored: boolean;
}

class StreamCap {
  headLeft: number;
  tail: Held[] = [];
  tailBytes = 0;
  carry: Buffer = Buffer.alloc(0);

  constructor(
    head: number,
    readonly tailLimit: number,
  ) {
    this.headLeft = head;
  }

  keepTail(chunk: Held): void {
    if (this.tailLimit <= 0) return;
    this.tail.push(chunk);
    this.tailBytes += chunk.bytes;
    while (this.tailBytes > this.tailLimit && this.tail.length > 0)
      this.tailBytes -= this.tail.shift()!.bytes;
  }
}

/** One run executing here. */
export class LiveRun {
  offset = 0;
  readonly recent: Held[] = [];
  private recentBytes = 0;
  private pending: OutputChunk[] = [];
  /** Chunks queued for the store: the memory ring keeps them until written. */
  private queued: Held[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  readonly listeners = new Set<LiveListener>();
  private readonly caps: Record<OutputStream, StreamCap>;
  closed = false;

  constructor(
    readonly runId: string,
    readonly node: string,
    capBytes: number,
    private readonly store: AsyncStore,
    private readonly logger: Logger,
  ) {
    const cap = Number.isFinite(capBytes) ? Math.max(0, Math.floor(capBytes)) : 0;
    this.caps = {
      stdout: new StreamCap(Math.ceil(cap / 2), Math.floor(cap / 2)),
      stderr: new StreamCap(Math.ceil(cap / 2), Math.floor(cap / 2)),
    };
  }

  /** Offset of the oldest chunk in memory (everything before it is in the store, or capped). */
  get recentStart(): number {
    return this.recent[0]?.offset ?? this.offset;
  }

  push(stream: OutputStream, bytes: Buffer, final = false): void {
    const cap = this.caps[stream];
    let buf = cap.carry.length > 0 ? Buffer.concat([cap.carry, bytes]) : bytes;
    const whole = final ? buf.length : completeUtf8Length(buf);
    cap.carry = Buffer.from(buf.subarray(whole));
    buf = buf.subarray(0, whole);
    if (buf.length === 0) return;
    const text = decodeLossy(buf);
    const size = Buffer.byteLength(text);
    const chunk: Held = {
      offset: this.offset,
      end: this.offset + size,
      stream,
      text,
      bytes: size,
      stored: false,
    };
    this.offset = chunk.end;
    this.remember(chunk);
    this.storeHead(cap, chunk);
    for (const l of this.listeners) l.chunk(chunk, this.node);
  }

  private remember(chunk: Held): void {
    this.recent.push(chunk);
    this.recentBytes += chunk.bytes;
    // Keep at least RECENT_BYTES, and every chunk the store may not have yet.
    while (this.recentBytes - this.recent[0]!.bytes >= RECENT_BYTES && this.recent[0]!.stored) {
      this.recentBytes -= this.recent.shift()!.bytes;
    }
  }

  private storeHead(cap: StreamCap, chunk: Held): void {
    if (cap.headLeft <= 0) {
      cap.keepTail(chunk);
      // Not stored now (maybe at the end, as tail): the memory ring need not keep it for the store.
      chunk.stored = true;
      return;
    }
    const text = chunk.bytes <= cap.headLeft ? chunk.text : utf8Prefix(chunk.text, cap.headLeft);
    cap.headLeft -= chunk.bytes;
    this.queued.push(chunk);
    this.queue({ run_id: this.runId, offset: chunk.offset, stream: chunk.stream, text });
    if (text.length < chunk.text.length) cap.keepTail(chunk);
  }

  private queue(row: OutputChunk): void {
    this.pending.push(row);
    this.pendingBytes += Buffer.byteLength(row.text);
    if (this.pendingBytes >= FLUSH_BYTES) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Writes what is queued; writes are serialized; a store failure is logged, never thrown. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const rows = mergeRows(this.pending);
    const held = this.queued;
    this.pending = [];
    this.queued = [];
    this.pendingBytes = 0;
    if (rows.length === 0) return this.writing;
    this.writing = this.writing.then(async () => {
      try {
        await this.store.appendOutput(rows);
      } catch (err) {
        this.logger.warn({ err, run: this.runId }, 'live output: storing chunks failed');
      }
      for (const c of held) c.stored = true;
    });
    return this.writing;
  }

  /** The run's command ended: held-back bytes and the tails go to the store. */
  async close(): Promise<void> {
    if (this.closed) return this.writing;
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.caps[stream].carry.length > 0) this.push(stream, Buffer.alloc(0), true);
    }
    this.closed = true;
    for (const stream of ['stdout', 'stderr'] as const) {
      const cap = this.caps[stream];
      for (const c of cap.tail) {
        // A chunk whose head part was stored keeps only its unstored rest here.
        const storedHead = this.pending.find((p) => p.offset === c.offset);
        if (!storedHead) this.pending.push({ run_id: this.runId, offset: c.offset, stream, text: c.text });
      }
      cap.tail = [];
    }
    await this.flush();
  }
}

/** Joins consecutive rows of one stream that touch, up to ROW_BYTES each. */
function mergeRows(rows: OutputChunk[]): OutputChunk[] {
  const out: OutputChunk[] = [];
  let lastEnd = -1;
  let lastBytes = 0;
  for (const r of [...rows].sort((a, b) => a.offset - b.offset)) {
    const bytes = Buffer.byteLength(r.text);
    const prev = out[out.length - 1];
    if (prev && prev.stream === r.stream && lastEnd === r.offset && lastBytes + bytes <= ROW_BYTES) {
      prev.text += r.text;
      lastBytes += bytes;
    } else {
      out.push({ ...r });
      lastBytes = bytes;
    }
    lastEnd = r.offset + bytes;
  }
  return out;
}

/** The runs executing on this member, by id. */
export class LiveOutput {
  private readonly runs = new Map<string, LiveRun>();
  private readonly waiting = new Map<string, Set<() => void>>();

  constructor(
    private readonly store: AsyncStore,
    private readonly logger: Logger,
  ) {}

  get(runId: string): LiveRun | undefined {
    return this.runs.get(runId);
  }

  push(runId: string, node: string, capBytes: number, stream: OutputStream, chunk: Buffer): void {
    let run = this.runs.get(runId);
    if (!run || run.closed) {
      if (run?.closed) return;
      run = new LiveRun(runId, node, capBytes, this.store, this.logger);
      this.runs.set(runId, run);
      const waiters = this.waiting.get(runId);
      this.waiting.delete(runId);
      for (const wake of waiters ?? []) wake();
    }
    run.push(stream, chunk);
  }

  /** Calls `wake` once the run produces output here; returns the cancel. */
  whenLive(runId: string, wake: () => void): () => void {
    let set = this.waiting.get(runId);
    if (!set) this.waiting.set(runId, (set = new Set()));
    set.add(wake);
    return () => {
      set.delete(wake);
      if (set.size === 0 && this.waiting.get(runId) === set) this.waiting.delete(runId);
    };
  }

  /** Before the run's final record is stored: every chunk is in the store first. */
  async close(runId: string): Promise<void> {
    await this.runs.get(runId)?.close();
  }

  /** After the final record is stored: followers get `end`, the run leaves memory. */
  ended(runId: string, end: RunEnd): void {
    const run = this.runs.get(runId);
    if (!run) return;
    this.runs.delete(runId);
    for (const l of run.listeners) l.end(end);
    run.listeners.clear();
  }
}

/** Length of `buf` without a multi-byte character cut off at its end. */
export function completeUtf8Length(buf: Buffer): number {
  for (let i = buf.length - 1; i >= Math.max(0, buf.length - 4); i--) {
    const byte = buf[i]!;
    if ((byte & 0xc0) === 0x80) continue;
    if (byte < 0xc0) return buf.length;
    const len = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
    return i + len > buf.length ? i : buf.length;
  }
  return buf.length;
}

/** The longest prefix of `text` of at most `maxBytes` UTF-8 bytes, cut between characters. */
export function utf8Prefix(text: string, maxBytes: number): string {
  const buf = Buffer.from(text);
  return buf.subarray(0, completeUtf8Length(buf.subarray(0, Math.max(0, maxBytes)))).toString('utf8');
}

/** The part of a chunk from `from` on (cut at a byte offset inside it). */
export function chunkFrom<T extends { offset: number; text: string }>(chunk: T, from: number): T {
  if (from <= chunk.offset) return chunk;
  const text = Buffer.from(chunk.text)
    .subarray(from - chunk.offset)
    .toString('utf8');
  return { ...chunk, offset: from, text };
}
