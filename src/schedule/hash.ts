import { hash } from 'node:crypto';

/**
 * Stable pseudo-random numbers from a job name: sha256, so values are identical across
 * restarts, processes and machines (no per-process seed) and uniformly spread across names.
 *
 * Slot s reads bytes 5·(s mod 6) .. +5 of sha256(name) for s < 6, else of
 * sha256("<floor(s/6)>\0<name>"). One digest serves the up-to-six draws of a job (one per cron
 * field, or time and day of a fuzzy schedule), which matters when 100,000 jobs compile at once.
 */
const SLOTS_PER_DIGEST = 6;
const SLICE_BYTES = 5;

let memoKey = '';
let memoDigest = '';

/** Hex digest: Node's one-shot hash is markedly faster with a string result than with a Buffer. */
function digestFor(jobName: string, block: number): string {
  const input = block === 0 ? jobName : `${block}\0${jobName}`;
  if (memoDigest !== '' && memoKey === input) return memoDigest;
  memoDigest = hash('sha256', input, 'hex');
  memoKey = input;
  return memoDigest;
}

/**
 * The digest of `jobName` (block 0) computed elsewhere: the config reader thread hashes the
 * names of the files it reads, so the main thread need not while it compiles their schedules.
 * Used only when the next lookup is for exactly this name; a stale offer is never read.
 */
export function offerDigest(jobName: string, hexDigest: string): void {
  memoKey = jobName;
  memoDigest = hexDigest;
}

/** Stable fraction in [0, 1) for (job name, slot); 40 bits make modulo bias negligible. */
export function stableFraction(jobName: string, slot: number): number {
  const digest = digestFor(jobName, Math.floor(slot / SLOTS_PER_DIGEST));
  const at = (slot % SLOTS_PER_DIGEST) * SLICE_BYTES * 2;
  return parseInt(digest.slice(at, at + SLICE_BYTES * 2), 16) / 2 ** 40;
}

/** Stable integer in [min, max] (inclusive). */
export function stableInt(jobName: string, slot: number, min: number, max: number): number {
  return min + Math.floor(stableFraction(jobName, slot) * (max - min + 1));
}
