/**
 * The config reader thread (started by read-ahead.ts): reads the files it is given in batches
 * into one buffer each and posts the bytes back (transferred, not copied), with two facts per
 * file the main thread would otherwise compute: the number of colons outside strings (the key
 * count parseJsonFast compares with) and the sha256 of the job name (the seed of its `H`
 * values). A file it cannot read plainly (error, empty, over the size limit, a FIFO: opened
 * non-blocking, so it never hangs) is marked -1 and left to the main thread. I/O.
 */
import { hash } from 'node:crypto';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { configNameOf } from './names.js';

/** What read-ahead.ts passes as workerData. */
export interface ReaderInput {
  files: readonly string[];
  /** Index of the first file this thread reads (the main thread reads the ones before). */
  first: number;
  batch: number;
  /** Largest file read here, in bytes. */
  limit: number;
}

/** One batch as posted to the main thread. */
export interface ReaderBatch {
  start: number;
  bytes: ArrayBuffer;
  /** End offset of each file's bytes in `bytes`; -1: the main thread reads that file. */
  ends: Int32Array;
  /** Per file: colons outside strings (see parseJsonFast). */
  colons: Int32Array;
  /** Per file: sha256 hex (64 characters) of its job name, concatenated. */
  digests: string;
}

const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * Colons outside JSON strings in bytes [at, end). UTF-8 multi-byte sequences never contain
 * '"', ':' or '\\', so counting bytes counts characters.
 */
export function colonsIn(buf: Uint8Array, at: number, end: number): number {
  let n = 0;
  for (let i = at; i < end; i++) {
    const c = buf[i];
    if (c === 0x3a) n++;
    else if (c === 0x22) for (i++; i < end && buf[i] !== 0x22; i++) if (buf[i] === 0x5c) i++;
  }
  return n;
}

/** Reads the input's files from `first` on, posting one ReaderBatch per batch. */
export function readBatches(
  input: ReaderInput,
  post: (batch: ReaderBatch, transfer: ArrayBuffer[]) => void,
): void {
  const { files, first, batch, limit } = input;
  let buf = Buffer.allocUnsafe(2 * (limit + 1));
  const readInto = (path: string, at: number): number => {
    if (buf.length < at + limit + 1) {
      const bigger = Buffer.allocUnsafe(2 * (at + limit + 1));
      buf.copy(bigger, 0, 0, at);
      buf = bigger;
    }
    return readFileInto(path, buf, at, limit);
  };
  for (let start = first; start < files.length; start += batch) {
    const count = Math.min(batch, files.length - start);
    const ends = new Int32Array(count);
    const colons = new Int32Array(count);
    let digests = '';
    let at = 0;
    for (let i = 0; i < count; i++) {
      const end = readInto(files[start + i]!, at);
      ends[i] = end;
      if (end !== -1) {
        colons[i] = colonsIn(buf, at, end);
        at = end;
      }
      digests += hash('sha256', configNameOf(files[start + i]!), 'hex');
    }
    const bytes = new ArrayBuffer(at);
    buf.copy(new Uint8Array(bytes), 0, 0, at);
    post({ start, bytes, ends, colons, digests }, [
      bytes,
      ends.buffer as ArrayBuffer,
      colons.buffer as ArrayBuffer,
    ]);
  }
}

/** The file's bytes at `at` of `buf`; its end offset, or -1 when the main thread must read it. */
function readFileInto(path: string, buf: Buffer, at: number, limit: number): number {
  let fd: number;
  try {
    fd = openSync(path, FLAGS);
  } catch {
    return -1;
  }
  try {
    let length = 0;
    for (let n = -1; n !== 0 && length <= limit; length += n)
      n = readSync(fd, buf, at + length, limit + 1 - length, length);
    return length === 0 || length > limit ? -1 : at + length;
  } catch {
    return -1;
  } finally {
    try {
      closeSync(fd);
    } catch {
      // closing a descriptor we opened does not fail in practice; nothing to do if it does
    }
  }
}

if (parentPort) {
  const port = parentPort;
  readBatches(workerData as ReaderInput, (batch, transfer) => port.postMessage(batch, transfer));
}
