/**
 * A failed delivery attempt. `permanent` = retrying the same message cannot help (the address is
 * invalid, the receiver rejects it): such a message goes to the dead letters after a few attempts
 * instead of being retried for days.
 */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

export interface RetryPolicy {
  /** First retry delay; doubles with every failed attempt. */
  baseMs: number;
  /** Cap of one retry delay. */
  maxMs: number;
  /** A permanently failing message is dead-lettered after this many attempts. */
  permanentAttempts: number;
  /** A transiently failing message is dead-lettered once it is this old (nothing is deleted). */
  maxAgeMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  baseMs: 5_000,
  maxMs: 15 * 60_000,
  permanentAttempts: 3,
  maxAgeMs: 72 * 3_600_000,
};

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so many messages
 * failing together do not retry in lock-step but none retries sooner than half its backoff.
 * `attempts` counts failed attempts so far, including the one just made (>= 1).
 */
export function backoffMs(attempts: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

export type FailureVerdict = { action: 'retry'; at: number } | { action: 'dead_letter'; reason: string };

/** What to do with a message whose attempt number `attempts` just failed with `error`. */
export function onFailure(
  error: DeliveryError,
  attempts: number,
  ageMs: number,
  now: number,
  policy: RetryPolicy,
  random?: () => number,
): FailureVerdict {
  if (error.permanent && attempts >= policy.permanentAttempts) {
    return {
      action: 'dead_letter',
      reason: `permanent failure after ${attempts} attempts: ${error.message}`,
    };
  }
  if (!error.permanent && ageMs >= policy.maxAgeMs) {
    return {
      action: 'dead_letter',
      reason: `gave up after ${attempts} attempts over ${Math.round(ageMs / 60_000)} min: ${error.message}`,
    };
  }
  return { action: 'retry', at: now + backoffMs(attempts, policy, random) };
}

/** Replaces every known secret in `text` (error messages can echo URLs or credentials). */
export function scrub(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 3) out = out.split(secret).join('[redacted]');
  return out;
}
