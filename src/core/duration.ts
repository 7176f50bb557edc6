/** Go-style durations: "500ms", "10s", "5m", "1h30m", "48h". Units: ms, s, m, h (no days). */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const TOKEN = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

export class DurationError extends Error {}

const HOUR_MS = 3_600_000;
/**
 * The longest duration any field takes (a year). Long enough for every real timeout, interval
 * or reminder; the bound keeps every wait finite and its arithmetic exact.
 */
export const MAX_DURATION_MS = 8760 * HOUR_MS;
/** Retry delays: a retry more than a week later is a new run, not a retry. */
export const MAX_RETRY_DELAY_MS = 168 * HOUR_MS;

/** Parses a duration string to milliseconds; throws DurationError with a hint on bad input. */
export function parseDuration(text: string): number {
  if (typeof text !== 'string' || text.length === 0)
    throw new DurationError('duration must be a non-empty string like "10s", "5m" or "1h30m"');
  let total = 0;
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const start = TOKEN.lastIndex;
    const match = TOKEN.exec(text);
    if (!match) throw new DurationError(durationHint(text, start));
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  return Math.round(total);
}

function durationHint(text: string, at: number): string {
  const rest = text.slice(at);
  if (/^\d+(\.\d+)?d/.test(rest))
    return `invalid duration "${text}": days are not a unit, use hours (e.g. "48h")`;
  return `invalid duration "${text}": expected numbers with units ms, s, m or h, like "90s" or "1h30m"`;
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
