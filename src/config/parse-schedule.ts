/** The `schedule` field of a job → ScheduleSpec, checked by compiling it. Pure. */
import { IANAZone } from 'luxon';
import type { FuzzyPeriod, ScheduleSpec } from '../core/types.js';
import { compileSchedule, ScheduleError } from '../schedule/index.js';
import {
  objectFields,
  readDuration,
  readString,
  wrongType,
  type Fields,
  type Located,
  type ProblemSink,
} from './checks.js';

export interface ScheduleOptions {
  jobName: string;
  defaultTimezone: string;
  /** sha256 hex of jobName, when the config reader thread computed it (seeds H values). */
  nameDigest?: string;
}

const KINDS = ['cron', 'interval', 'fuzzy', 'at'] as const;
const EXTRA_FIELDS: Record<(typeof KINDS)[number], readonly string[]> = {
  cron: ['timezone'],
  interval: ['reference', 'timezone'],
  fuzzy: ['window', 'timezone'],
  at: [],
};
const ALL_FIELDS = ['cron', 'interval', 'fuzzy', 'at', 'reference', 'timezone', 'window'];
const FORMS = 'a cron string, "@every 10m", "@manual", or an object with "cron", "interval", "fuzzy" or "at"';

export function parseSchedule(
  sink: ProblemSink,
  at: Located | undefined,
  opts: ScheduleOptions,
): ScheduleSpec | undefined {
  if (!at || at.node.type === 'null') return { kind: 'manual' };
  const spec = specOf(sink, at);
  if (!spec) return undefined;
  try {
    compileSchedule(spec, opts);
    return spec;
  } catch (err) {
    if (!(err instanceof ScheduleError)) throw err;
    return sink.error(mostSpecific(at), err.message);
  }
}

/** Where a compile error belongs: the cron string when there is one, else the whole schedule. */
function mostSpecific(at: Located): Located {
  if (at.node.type !== 'object') return at;
  const cron = at.node.children?.find((p) => p.children?.[0]?.value === 'cron')?.children?.[1];
  return cron ? { node: cron, parent: at, segment: 'cron' } : at;
}

function specOf(sink: ProblemSink, at: Located): ScheduleSpec | undefined {
  if (at.node.type === 'string') return stringSpec(sink, at);
  if (at.node.type !== 'object') return wrongType(sink, at, FORMS);
  const fields = objectFields(sink, at, ALL_FIELDS);
  if (!fields) return undefined;
  const kinds = KINDS.filter((k) => fields.has(k));
  if (kinds.length !== 1) {
    const which =
      kinds.length === 0
        ? 'needs one of'
        : `has ${kinds.map((k) => `"${k}"`).join(' and ')}; give exactly one of`;
    return sink.error(at, `"schedule" ${which} "cron", "interval", "fuzzy" or "at"`);
  }
  const kind = kinds[0]!;
  let ok = true;
  for (const [name, field] of fields)
    if (name !== kind && !EXTRA_FIELDS[kind].includes(name))
      ok = sink.errorAtKey(field, `"${name}" does not apply to a "${kind}" schedule; remove it`) ?? false;
  const spec = objectSpec(sink, kind, fields);
  return ok ? spec : undefined;
}

function stringSpec(sink: ProblemSink, at: Located, timezone?: string): ScheduleSpec | undefined {
  const text = (at.node.value as string).trim();
  if (text === '') return sink.error(at, '"schedule" must not be empty; use "@manual" for on-demand jobs');
  if (text === '@manual') return { kind: 'manual' };
  if (text.startsWith('@every')) {
    const rest = text.slice('@every'.length).trim();
    const intervalMs = readDuration(sink, { ...at, node: { ...at.node, value: rest } });
    return intervalMs === undefined ? undefined : { kind: 'every', intervalMs };
  }
  return timezone === undefined
    ? { kind: 'cron', expression: text }
    : { kind: 'cron', expression: text, timezone };
}

function objectSpec(
  sink: ProblemSink,
  kind: (typeof KINDS)[number],
  fields: Fields,
): ScheduleSpec | undefined {
  const tzField = fields.get('timezone');
  const timezone = tzField ? readTimezone(sink, tzField) : undefined;
  if (tzField && timezone === undefined) return undefined;
  switch (kind) {
    case 'cron':
      return cronSpec(sink, fields.get('cron')!, timezone);
    case 'interval':
      return intervalSpec(sink, fields, timezone);
    case 'fuzzy':
      return fuzzySpec(sink, fields, timezone);
    case 'at':
      return atSpec(sink, fields.get('at')!);
  }
}

function cronSpec(sink: ProblemSink, at: Located, timezone: string | undefined): ScheduleSpec | undefined {
  if (readString(sink, at, { nonEmpty: true }) === undefined) return undefined;
  return stringSpec(sink, at, timezone);
}

function intervalSpec(sink: ProblemSink, fields: Fields, timezone?: string): ScheduleSpec | undefined {
  const intervalMs = readDuration(sink, fields.get('interval')!);
  const refField = fields.get('reference');
  const reference = refField ? readWallTime(sink, refField) : '00:00';
  if (intervalMs === undefined || reference === undefined) return undefined;
  // SPEC §5: an interval schedule is anchored in UTC unless a timezone is given.
  return { kind: 'interval', intervalMs, reference, timezone: timezone ?? 'UTC' };
}

function fuzzySpec(sink: ProblemSink, fields: Fields, timezone?: string): ScheduleSpec | undefined {
  const period = readFuzzyPeriod(sink, fields.get('fuzzy')!);
  const windowField = fields.get('window');
  const window = windowField ? readWindow(sink, windowField) : undefined;
  if (period === undefined || (windowField && !window)) return undefined;
  const spec: ScheduleSpec = { kind: 'fuzzy', period };
  if (window) spec.window = window;
  if (timezone !== undefined) spec.timezone = timezone;
  return spec;
}

function readFuzzyPeriod(sink: ProblemSink, at: Located): FuzzyPeriod | undefined {
  if (at.node.type !== 'string')
    return wrongType(sink, at, '"hourly", "daily", "weekly" or a duration like "6h"');
  const value = at.node.value as string;
  if (value === 'hourly' || value === 'daily' || value === 'weekly') return value;
  const everyMs = readDuration(sink, at);
  return everyMs === undefined ? undefined : { everyMs };
}

function atSpec(sink: ProblemSink, at: Located): ScheduleSpec | undefined {
  const value = readString(sink, at, { nonEmpty: true });
  if (value === undefined) return undefined;
  const zoned = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
  const ms = Date.parse(value);
  if (!zoned || Number.isNaN(ms))
    return sink.error(
      at,
      `"at" must be an ISO-8601 time with a zone, like "2026-12-01T10:00:00Z", not "${value}"`,
    );
  return { kind: 'at', at: ms };
}

const WALL_TIME = /^([01]\d|2[0-3]):([0-5]\d)(:([0-5]\d))?$/;

function readWallTime(sink: ProblemSink, at: Located): string | undefined {
  const value = readString(sink, at);
  if (value === undefined) return undefined;
  if (!WALL_TIME.test(value))
    return sink.error(
      at,
      `"${String(at.segment)}" must be a time of day "HH:MM" or "HH:MM:SS", not "${value}"`,
    );
  return value;
}

function readWindow(sink: ProblemSink, at: Located): { start: string; end: string } | undefined {
  const value = readString(sink, at);
  if (value === undefined) return undefined;
  const [start, end, ...rest] = value.split('-').map((s) => s.trim());
  if (rest.length > 0 || !start || !end || !WALL_TIME.test(start) || !WALL_TIME.test(end))
    return sink.error(at, `"window" must look like "01:00-05:00" (start-end, local time), not "${value}"`);
  if (start === end) return sink.error(at, `"window" "${value}" is empty; start and end must differ`);
  return { start, end };
}

function readTimezone(sink: ProblemSink, at: Located): string | undefined {
  const value = readString(sink, at, { nonEmpty: true });
  if (value === undefined) return undefined;
  if (!isKnownZone(value))
    return sink.error(at, `unknown timezone "${value}"; use an IANA zone name like "Europe/Berlin" or "UTC"`);
  return value;
}

// IANAZone.isValidZone builds an Intl.DateTimeFormat (~0.5 ms): far too slow for 100k files.
// Safe to share process-wide: whether a zone name exists is fixed for the life of the process.
const zoneValidity = new Map<string, boolean>();

function isKnownZone(zone: string): boolean {
  let valid = zoneValidity.get(zone);
  if (valid === undefined) {
    valid = IANAZone.isValidZone(zone);
    if (zoneValidity.size < 10_000) zoneValidity.set(zone, valid);
  }
  return valid;
}
