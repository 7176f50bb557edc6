import type { ScheduleSpec } from '../core/types.js';

/**
 * A canonical text of a schedule definition: equal for the same definition however its JSON was
 * written (key order), different when any field differs. Persisted with a job's last scheduled
 * instant, so an edited schedule is recognised across restarts.
 */
export function scheduleKey(spec: ScheduleSpec): string {
  return canonicalJson(spec);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
