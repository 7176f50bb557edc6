/** Words for times, durations, statuses and schedules. */
import cronstrue from 'cronstrue';
import type { RunStatus } from './api.js';

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

/** "3 min. ago", "in 2 hr." */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const diff = Date.parse(iso) - now;
  for (const [unit, ms] of UNITS)
    if (Math.abs(diff) >= ms || unit === 'second') return relative.format(Math.round(diff / ms), unit);
  return '';
}

/** "1h 02m", "4m 05s", "12.3s" */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const s = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
}

const stamp = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function when(iso: string | null | undefined): string {
  return iso ? stamp.format(new Date(iso)) : '—';
}

/** A symbol besides the colour, so a status never rests on colour alone. */
const SYMBOL: Record<RunStatus, string> = {
  succeeded: '✓',
  failed: '✗',
  timed_out: '⏱',
  cancelled: '⊘',
  error: '!',
  lost: '?',
  skipped: '»',
  missed: '…',
  running: '▶',
};

export function statusSymbol(status: RunStatus): string {
  return SYMBOL[status];
}

export function statusText(status: RunStatus): string {
  return status.replace('_', ' ');
}

/** good / bad / busy / quiet: the colour family of a status. */
export function statusTone(status: RunStatus): string {
  if (status === 'succeeded') return 'good';
  if (status === 'running') return 'busy';
  if (status === 'skipped' || status === 'missed' || status === 'cancelled') return 'quiet';
  return 'bad';
}

/**
 * The daemon describes schedules as "cron 0 5 * * * (UTC)", "every 10m from 00:05 (UTC)",
 * "fuzzy hourly ..." or "@manual": cron expressions are put into words, the rest already are.
 */
export function scheduleWords(schedule: string): string {
  if (schedule === '@manual') return 'Manual only';
  const cron = /^cron (.+?)(?: = (.+?))? \(([^)]+)\)$/.exec(schedule);
  if (!cron) return schedule;
  try {
    const words = cronstrue.toString(cron[2] ?? cron[1]!, { use24HourTimeFormat: true, verbose: false });
    return `${words} (${cron[3]})`;
  } catch {
    return schedule;
  }
}
