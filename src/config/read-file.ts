/**
 * Reading one config file without ever blocking on or crashing over what sits in the
 * directory: FIFOs and devices (opened non-blocking, then refused), directories, dangling
 * links and link loops, oversized files. I/O.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { MAX_CONFIG_FILE_BYTES } from './limits.js';

/** What identifies one version of a file cheaply: a change to any of these means "re-read". */
export interface FileStamp {
  mtimeMs: number;
  ctimeMs: number;
  size: number;
  ino: number;
}

export type ReadOutcome =
  { ok: true; text: string; stamp?: FileStamp } | { ok: false; error: string; stamp?: FileStamp };

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;
let shared: Buffer | undefined;

export function stampOf(st: Stats): FileStamp {
  return { mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, size: st.size, ino: st.ino };
}

export function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  return (
    !!a && !!b && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.size === b.size && a.ino === b.ino
  );
}

/**
 * Reads one config file. `withStamp` false skips the fstat (a third of the I/O cost at 100k
 * files); the file type is then checked only when reading gives nothing or fails, which is
 * what a FIFO (opened non-blocking) or a directory does.
 */
export function readConfigFileSync(path: string, withStamp = true): ReadOutcome {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    return { ok: false, error: describeOpenError(err) };
  }
  try {
    const st = withStamp ? fstatSync(fd) : undefined;
    const stamp = st && stampOf(st);
    const refusal = st && refuse(st, stamp!);
    if (refusal) return refusal;
    const bytes = readUpToLimit(fd);
    if (bytes.length === 0 && !st) return refuse(fstatSync(fd), undefined) ?? finish(bytes, undefined);
    return finish(bytes, stamp);
  } catch (err) {
    const refusal = refuseSafely(fd);
    return refusal ?? { ok: false, error: `cannot read the file: ${(err as Error).message}` };
  } finally {
    closeSync(fd);
  }
}

/** Up to MAX_CONFIG_FILE_BYTES + 1 bytes: one more than allowed tells "too large" without a stat. */
function readUpToLimit(fd: number): Buffer {
  shared ??= Buffer.allocUnsafe(MAX_CONFIG_FILE_BYTES + 1);
  let length = 0;
  for (let n = -1; n !== 0 && length <= MAX_CONFIG_FILE_BYTES; length += n)
    n = readSync(fd, shared, length, shared.length - length, length);
  return shared.subarray(0, length);
}

function refuseSafely(fd: number): ReadOutcome | undefined {
  try {
    return refuse(fstatSync(fd), undefined);
  } catch {
    return undefined;
  }
}

function refuse(st: Stats, stamp: FileStamp | undefined): ReadOutcome | undefined {
  if (st.isDirectory()) return { ok: false, error: 'is a directory, not a file', stamp };
  if (!st.isFile())
    return { ok: false, error: 'is not a regular file (a FIFO, socket or device?); remove it', stamp };
  if (st.size > MAX_CONFIG_FILE_BYTES) return tooLarge(stamp);
  return undefined;
}

/** The size is checked again after reading: the file may have grown since fstat. */
function finish(bytes: Buffer, stamp: FileStamp | undefined): ReadOutcome {
  if (bytes.length > MAX_CONFIG_FILE_BYTES) return tooLarge(stamp);
  return { ok: true, text: bytes.toString('utf8'), stamp };
}

function tooLarge(stamp: FileStamp | undefined): ReadOutcome {
  return {
    ok: false,
    error: `file is larger than ${MAX_CONFIG_FILE_BYTES} bytes (1 MiB); a definition is a small JSON object — is this the right file?`,
    stamp,
  };
}

function describeOpenError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'cannot open the file: it does not exist (a dangling symlink?)';
  if (code === 'ELOOP') return 'cannot open the file: symlink loop; point the link at a real file';
  if (code === 'EACCES' || code === 'EPERM')
    return 'cannot open the file: permission denied; make it readable by the daemon';
  return `cannot open the file: ${(err as Error).message}`;
}

/**
 * A script a job pushes, as bytes: a regular file of at most `limit` bytes (checked again
 * after reading: it may grow in between).
 */
export function readScriptFileSync(
  path: string,
  limit: number,
): { ok: true; bytes: Buffer } | { ok: false; error: string } {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, error: 'does not exist; create it or fix "script"' };
    if (code === 'EACCES' || code === 'EPERM')
      return { ok: false, error: 'permission denied; make it readable by the daemon' };
    return { ok: false, error: `cannot open it: ${(err as Error).message}` };
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return { ok: false, error: 'is a directory, not a file' };
    if (!st.isFile()) return { ok: false, error: 'is not a regular file' };
    const tooLarge = (n: number) => ({
      ok: false as const,
      error: `is ${n} bytes, over the 1 MiB limit (${limit} bytes) for a pushed script; install large programs on the hosts instead`,
    });
    if (st.size > limit) return tooLarge(st.size);
    const buf = Buffer.allocUnsafe(limit + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length <= limit; length += n)
      n = readSync(fd, buf, length, buf.length - length, null);
    if (length > limit) return tooLarge(length);
    return { ok: true, bytes: Buffer.from(buf.subarray(0, length)) };
  } catch (err) {
    return { ok: false, error: `cannot read it: ${(err as Error).message}` };
  } finally {
    closeSync(fd);
  }
}
