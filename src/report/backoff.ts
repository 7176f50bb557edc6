/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so retries of
 * many daemons spread out while each still waits at least half the exponential step.
 * `failures` counts consecutive failures (1 = first retry). `random` returns [0, 1).
 */
export function backoffDelay(
  failures: number,
  minMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const step = Math.min(maxMs, minMs * 2 ** exponent);
  return Math.round(step / 2 + random() * (step / 2));
}
