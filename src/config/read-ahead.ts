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
import type { ReaderBatch, ReaderInput } from './read-ahead-worker.js';
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

const BATCH = 512;

/**
 * Starts the reader thread (read-ahead-worker.ts). Built, it is the .js next to this file. Run
 * through tsx (tests, bench), it is the .ts source, loaded through tsx's API: Node 20 does not
 * apply `--import` loaders to a worker's entry module, so a one-line bootstrap registers tsx first.
 */
function startReader(input: ReaderInput): Worker {
  const options = {
    workerData: input,
    // It holds the file list (~7 MB at 100k files) and one batch. Past this cap (millions
    // of files) it stops and the main thread reads the rest: slower, never wrong.
    resourceLimits: { maxOldGenerationSizeMb: 256 },
  };
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./read-ahead-worker.js', here), options);
  const entry = JSON.stringify(new URL('./read-ahead-worker.ts', here).href);
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const boot = `import(${tsx}).then((tsx) => { tsx.register(); return import(${entry}); });`;
  return new Worker(boot, { ...options, eval: true });
}

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
      worker = startReader({ files, first: BATCH, batch: BATCH, limit: MAX_CONFIG_FILE_BYTES });
    } catch {
      return withoutWorker();
    }
    // Batches come in order; one that does not start where the last ended was already read here.
    worker.on('message', (m: ReaderBatch) => {
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

function batchOf(m: ReaderBatch): ReadBatch {
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
