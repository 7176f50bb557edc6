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

/** The draws of one job. Pure apart from the digests it computes once and keeps. */
export class StableDraws {
  private readonly digests: string[] = [];

  /**
   * `nameDigest`: sha256 hex of `jobName` when already known (the config reader thread hashes
   * the names of the files it reads, so the main thread need not while compiling schedules).
   */
  constructor(
    readonly jobName: string,
    nameDigest?: string,
  ) {
    if (nameDigest !== undefined) this.digests[0] = nameDigest;
  }

  /** Stable fraction in [0, 1) for this job and `slot`; 40 bits make modulo bias negligible. */
  fraction(slot: number): number {
    const digest = this.digest(Math.floor(slot / SLOTS_PER_DIGEST));
    const at = (slot % SLOTS_PER_DIGEST) * SLICE_BYTES * 2;
    return parseInt(digest.slice(at, at + SLICE_BYTES * 2), 16) / 2 ** 40;
  }

  /** Stable integer in [min, max] (inclusive). */
  int(slot: number, min: number, max: number): number {
    return min + Math.floor(this.fraction(slot) * (max - min + 1));
  }

  /** Hex digest: Node's one-shot hash is markedly faster with a string result than with a Buffer. */
  private digest(block: number): string {
    return (this.digests[block] ??= hash(
      'sha256',
      block === 0 ? this.jobName : `${block}\0${this.jobName}`,
      'hex',
    ));
  }
}

/** Stable fraction in [0, 1) for (job name, slot). */
export function stableFraction(jobName: string, slot: number): number {
  return new StableDraws(jobName).fraction(slot);
}

/** Stable integer in [min, max] (inclusive). */
export function stableInt(jobName: string, slot: number, min: number, max: number): number {
  return new StableDraws(jobName).int(slot, min, max);
}
