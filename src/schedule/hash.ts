import { createHash } from 'node:crypto';

/**
 * Stable pseudo-random numbers from a job name: sha256, so the value is identical across restarts,
 * processes and machines (no per-process seed) and uniformly spread across job names.
 * `salt` separates independent draws for the same job (e.g. one per cron field).
 */
export function stableFraction(jobName: string, salt: string): number {
  const digest = createHash('sha256').update(salt).update('\0').update(jobName).digest();
  // 48 bits keep the fraction exact in a double and make modulo bias negligible.
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/** Stable integer in [min, max] (inclusive). */
export function stableInt(jobName: string, salt: string, min: number, max: number): number {
  return min + Math.floor(stableFraction(jobName, salt) * (max - min + 1));
}
