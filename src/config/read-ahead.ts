/**
 * Reading many config files on a second thread while the main thread parses: at 100,000 files
 * the open/read/close system calls cost about as much CPU as parsing does, and the daemon host
 * has more than one core. The worker only reads plain files; it hands back raw bytes in batches
 * (transferred, not copied). Anything unusual (an error, an empty or oversized file, a FIFO) is
 * left to the main thread, which reads it again with readConfigFileSync and so reports it
 * exactly as a one-thread load would. If the worker cannot run at all, the main thread reads
 * everything. I/O.
 */
import { Worker } from 'node:worker_threads';
import { MAX_CONFIG_FILE_BYTES } from './limits.js';
import type { ReadFacts } from './read-facts.js';

/**
 * One batch as it arrives: `text(i)` is the content of file `start + i`, or undefined to read
 * it here; `facts(i)` is what the reader found out about that text (when text(i) is defined).
 */
export interface ReadBatch {
  start: number;
  count: number;
  text(i: number): string | undefined;
  facts?(i: number): ReadFacts;
}

interface BatchMessage {
  start: number;
  bytes: ArrayBuffer;
  /** End offset of each file's bytes in `bytes`; -1: the main thread reads that file. */
  ends: Int32Array;
  /** Per file: colons outside strings (see parseJsonFast). */
  colons: Int32Array;
  /** Per file: sha256 hex (64 characters) of its job name, concatenated. */
  digests: string;
}

const BATCH = 512;

/**
 * Plain JavaScript evaluated in the worker (no module loading, so it also runs under test
 * runners that compile TypeScript on the fly). Opening non-blocking never hangs on a FIFO.
 * nameOf is configNameOf (names.ts) and colons is countKeys (json-doc.ts) on bytes: UTF-8
 * multi-byte sequences never contain '"', ':' or '\\', so counting bytes counts characters.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const sha256 = crypto.hash
  ? (s) => crypto.hash('sha256', s, 'hex')
  : (s) => crypto.createHash('sha256').update(s).digest('hex');
function nameOf(path) {
  const base = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\\\')) + 1);
  return base.slice(0, -5);
}
function colonsIn(at, end) {
  let n = 0;
  for (let i = at; i < end; i++) {
    const c = buf[i];
    if (c === 0x3a) n++;
    else if (c === 0x22) for (i++; i < end && buf[i] !== 0x22; i++) if (buf[i] === 0x5c) i++;
  }
  return n;
}
const { files, first, batch, limit } = workerData;
const flags = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK;
let buf = Buffer.allocUnsafe(2 * (limit + 1));
function readInto(path, at) {
  if (buf.length < at + limit + 1) {
    const bigger = Buffer.allocUnsafe(2 * (at + limit + 1));
    buf.copy(bigger, 0, 0, at);
    buf = bigger;
  }
  let fd;
  try { fd = fs.openSync(path, flags); } catch { return -1; }
  try {
    let length = 0;
    for (let n = -1; n !== 0 && length <= limit; length += n)
      n = fs.readSync(fd, buf, at + length, limit + 1 - length, length);
    return length === 0 || length > limit ? -1 : at + length;
  } catch { return -1; } finally { try { fs.closeSync(fd); } catch {} }
}
for (let start = first; start < files.length; start += batch) {
  const count = Math.min(batch, files.length - start);
  const ends = new Int32Array(count);
  const colons = new Int32Array(count);
  let digests = '';
  let at = 0;
  for (let i = 0; i < count; i++) {
    const end = readInto(files[start + i], at);
    ends[i] = end;
    if (end !== -1) {
      colons[i] = colonsIn(at, end);
      at = end;
    }
    digests += sha256(nameOf(files[start + i]));
  }
  const bytes = new ArrayBuffer(at);
  buf.copy(new Uint8Array(bytes), 0, 0, at);
  parentPort.postMessage({ start, bytes, ends, colons, digests }, [bytes, ends.buffer, colons.buffer]);
}
`;

/**
 * Calls `onBatch` for every batch of `files`, in order, each on its own event-loop turn; the
 * returned promise settles after the last one. Rejects only if `onBatch` throws. Batches
 * without text are for the caller to read: the first one (while the worker starts), and all
 * the worker did not deliver when it fails.
 */
export function readAhead(files: readonly string[], onBatch: (batch: ReadBatch) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let settled = false;
    let worker: Worker | undefined;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      void worker?.terminate();
      if (err) reject(err);
      else resolve();
    };
    const deliver = (batch: ReadBatch) => {
      try {
        onBatch(batch);
        next = batch.start + batch.count;
        if (next >= files.length) finish();
      } catch (err) {
        finish(err);
      }
    };
    let fallingBack = false;
    const withoutWorker = () => {
      if (fallingBack) return;
      fallingBack = true;
      void deliverUnread(files.length, () => (settled ? files.length : next), deliver);
    };
    if (files.length === 0) return finish();
    try {
      worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { files, first: BATCH, batch: BATCH, limit: MAX_CONFIG_FILE_BYTES },
        // It holds the file list (~7 MB at 100k files) and one batch. Past this cap (millions
        // of files) it stops and the main thread reads the rest: slower, never wrong.
        resourceLimits: { maxOldGenerationSizeMb: 256 },
      });
    } catch {
      return withoutWorker();
    }
    // Batches come in order; one that does not start where the last ended was already read here.
    worker.on('message', (m: BatchMessage) => {
      if (!settled && m.start === next) deliver(batchOf(m));
    });
    worker.on('error', () => undefined);
    worker.on('exit', () => {
      if (!settled) withoutWorker();
    });
    // The first batch is read here while the worker starts up (tens of milliseconds).
    deliver({ start: 0, count: Math.min(BATCH, files.length), text: () => undefined });
  });
}

function batchOf(m: BatchMessage): ReadBatch {
  const bytes = Buffer.from(m.bytes);
  const ends = m.ends;
  const starts = new Int32Array(ends.length);
  for (let i = 0, at = 0; i < ends.length; i++) {
    starts[i] = at;
    if (ends[i] !== -1) at = ends[i]!;
  }
  return {
    start: m.start,
    count: ends.length,
    text: (i) => (ends[i] === -1 ? undefined : bytes.toString('utf8', starts[i], ends[i])),
    facts: (i) => ({
      buffer: bytes,
      start: starts[i]!,
      end: ends[i]!,
      colons: m.colons[i]!,
      nameDigest: m.digests.slice(i * 64, i * 64 + 64),
    }),
  };
}

/** Batches without text from `from()` until it reaches `total`, each on its own event-loop turn. */
async function deliverUnread(
  total: number,
  from: () => number,
  deliver: (batch: ReadBatch) => void,
): Promise<void> {
  const none = () => undefined;
  for (let start = from(); start < total; start = from()) {
    deliver({ start, count: Math.min(BATCH, total - start), text: none });
    await new Promise((r) => setImmediate(r));
  }
}
