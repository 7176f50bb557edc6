import { CronExpressionParser } from 'cron-parser';
import { DurationError, formatDuration, MAX_DURATION_MS, parseDuration } from '../core/duration.js';
import { StableDraws } from './hash.js';
import { ScheduleError } from './schedule.js';

/**
 * Cron text → lookup tables for the walker in cron-walk.ts.
 *
 * cron-parser is used only to expand and validate ONE field at a time (names, ranges, steps,
 * lists, range checks), memoised per distinct field text: its whole-expression parse and its
 * timezone-aware iterator are too slow to run per job at 100,000 jobs (bench/schedule has the
 * figures). H tokens, descriptors, `@every`, Vixie day matching and the DST-aware time walk are
 * ours.
 */

export type Unit = 'second' | 'minute' | 'hour' | 'dayOfMonth' | 'month' | 'dayOfWeek';
const UNITS: readonly Unit[] = ['second', 'minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'];
const LABEL: Record<Unit, string> = {
  second: 'second',
  minute: 'minute',
  hour: 'hour',
  dayOfMonth: 'day-of-month',
  month: 'month',
  dayOfWeek: 'day-of-week',
};
/** Value ranges an `H` may pick from; day-of-month stops at 28 (as in Jenkins) so every month has it. */
const H_RANGE: Record<Unit, [number, number]> = {
  second: [0, 59],
  minute: [0, 59],
  hour: [0, 23],
  dayOfMonth: [1, 28],
  month: [1, 12],
  dayOfWeek: [0, 6],
};
const FIELD_MAX: Record<Unit, number> = {
  second: 59,
  minute: 59,
  hour: 23,
  dayOfMonth: 31,
  month: 12,
  dayOfWeek: 6,
};

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** Allowed values of one field: `next[v]` is the smallest allowed value >= v, or -1. */
export interface FieldTable {
  next: Int8Array;
  allowed: Uint8Array;
}

export interface CronProgram {
  second: FieldTable;
  minute: FieldTable;
  hour: FieldTable;
  dayOfMonth: FieldTable;
  month: FieldTable;
  dayOfWeek: FieldTable;
  /** Every calendar day matches (both day fields allow everything): skips day checks. */
  everyDay: boolean;
  /** Only day-of-month restricts days, so the walker may jump straight to the next allowed day. */
  dayOfMonthOnly: boolean;
  /** Vixie cron: when both day fields are restricted (neither starts with `*`) a day matches either. */
  dayMatchesEither: boolean;
  /** Debian cron "fixed-time" job: neither minute nor hour is a wildcard; drives the DST rules. */
  fixedTime: boolean;
  /** True when no calendar day can ever match (e.g. "0 0 30 2 *"). */
  neverFires: boolean;
  /** The 6 fields after descriptor and H expansion (for describe()). */
  fields: readonly string[];
}

export type ParsedCron =
  { kind: 'cron'; program: CronProgram } | { kind: 'every'; intervalMs: number } | { kind: 'manual' };

/** Parses a cron string (5 or 6 fields, descriptor, `@every`, `@manual`); throws ScheduleError. */
export function parseCron(expression: string, job: string | StableDraws): ParsedCron {
  const draws = typeof job === 'string' ? new StableDraws(job) : job;
  // Without H the result depends on the text alone; fleets repeat expressions a lot.
  if (expression.includes('H')) return parseHashed(expression, draws);
  let parsed = parsedCache.get(expression);
  if (!parsed) {
    parsed = parseUncached(expression, draws);
    if (parsedCache.size >= PARSED_CACHE_LIMIT) parsedCache.clear();
    parsedCache.set(expression, parsed);
  }
  return parsed;
}

const PARSED_CACHE_LIMIT = 200_000;
/** Safe to share: the result depends on the expression text alone (no H) and is never mutated. */
const parsedCache = new Map<string, ParsedCron>();

function parseUncached(expression: string, draws: StableDraws): ParsedCron {
  const text = expression.trim();
  if (text.startsWith('@')) return parseDescriptor(text, draws);
  return { kind: 'cron', program: compileFields(cronFields(expression, text), expression, draws) };
}

/** The 6 fields (seconds first) of a trimmed cron text that is not a descriptor. */
function cronFields(expression: string, text: string): string[] {
  const fields = text.split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6)
    throw new ScheduleError(
      `invalid cron "${expression}": expected 5 fields (minute hour day-of-month month day-of-week) ` +
        `or 6 fields (seconds first), got ${text === '' ? 0 : fields.length}`,
    );
  if (fields.length === 5) fields.unshift('0');
  return fields;
}

/** A cron expression with H tokens, split once: per job only the H fields are expanded. */
interface HashedTemplate {
  raw: string[];
  hashed: number[];
  flags: number;
}

/** Safe to share: a template depends on the expression text alone; the per-job draws are applied after. */
const templates = new Map<string, HashedTemplate>();

/** Fleets use a few H expressions for many jobs: the text is split and checked once per expression. */
function parseHashed(expression: string, draws: StableDraws): ParsedCron {
  let template = templates.get(expression);
  if (!template) {
    const text = expression.trim();
    if (text.startsWith('@')) return parseUncached(expression, draws);
    const raw = cronFields(expression, text);
    const hashed = raw.flatMap((field, i) => (field.includes('H') ? [i] : []));
    template = { raw, hashed, flags: wildcardFlags(raw) };
    if (templates.size >= PARSED_CACHE_LIMIT) templates.clear();
    templates.set(expression, template);
  }
  const fields = template.raw.slice();
  for (const i of template.hashed) fields[i] = expandHashTokens(fields[i]!, i, draws);
  return { kind: 'cron', program: programFor(template.raw, fields, template.flags, expression) };
}

function parseDescriptor(text: string, draws: StableDraws): ParsedCron {
  const lower = text.toLowerCase();
  if (lower === '@manual') return { kind: 'manual' };
  if (lower.startsWith('@every')) return { kind: 'every', intervalMs: parseEvery(text) };
  const fields = DESCRIPTORS[lower];
  if (!fields)
    throw new ScheduleError(
      `unknown cron descriptor "${text}": use one of ${Object.keys(DESCRIPTORS).join(' ')}, ` +
        `"@every <duration>" or "@manual"`,
    );
  return { kind: 'cron', program: compileFields(['0', ...fields.split(' ')], text, draws) };
}

function parseEvery(text: string): number {
  const duration = text.slice('@every'.length).trim();
  try {
    const ms = parseDuration(duration);
    if (ms <= 0) throw new DurationError('the duration must be positive');
    if (ms > MAX_DURATION_MS)
      throw new DurationError(`the duration must be at most ${formatDuration(MAX_DURATION_MS)}`);
    return ms;
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    throw new ScheduleError(`invalid "${text}": ${err.message}`);
  }
}

/**
 * Programs by expanded fields and wildcard flags: with H, 100,000 jobs expand to far fewer
 * distinct programs, and a shared (immutable) program is computed and stored once. Safe to
 * share: the key is everything a program depends on.
 */
const programCache = new Map<string, CronProgram>();

function compileFields(raw: string[], expression: string, draws: StableDraws): CronProgram {
  const fields = raw.map((field, i) => expandHashTokens(field, i, draws));
  return programFor(raw, fields, wildcardFlags(raw), expression);
}

function wildcardFlags(raw: readonly string[]): number {
  return (
    (isWildcard(raw[1]!) ? 1 : 0) |
    (isWildcard(raw[2]!) ? 2 : 0) |
    (isWildcard(raw[3]!) ? 4 : 0) |
    (isWildcard(raw[5]!) ? 8 : 0)
  );
}

function programFor(
  raw: readonly string[],
  fields: string[],
  flags: number,
  expression: string,
): CronProgram {
  const key = `${fields.join(' ')} ${flags}`;
  let program = programCache.get(key);
  if (!program) {
    program = programOf(raw, fields, expression);
    if (programCache.size >= PARSED_CACHE_LIMIT) programCache.clear();
    programCache.set(key, program);
  }
  return program;
}

function programOf(raw: readonly string[], fields: string[], expression: string): CronProgram {
  const tables = fields.map((field, i) => fieldTable(i, field, expression));
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = tables as [
    FieldTable,
    FieldTable,
    FieldTable,
    FieldTable,
    FieldTable,
    FieldTable,
  ];
  const star = raw.map(isWildcard);
  const dayMatchesEither = !star[3] && !star[5];
  return {
    second,
    minute,
    hour,
    dayOfMonth,
    month,
    dayOfWeek,
    everyDay: allowsAll(dayOfMonth, 1, 31) && allowsAll(dayOfWeek, 0, 6),
    dayOfMonthOnly: !dayMatchesEither && allowsAll(dayOfWeek, 0, 6),
    dayMatchesEither,
    fixedTime: !star[1] && !star[2],
    neverFires: !dayMatchesEither && !someMonthHasADay(dayOfMonth, month),
    fields,
  };
}

/** Debian's MIN_STAR/HR_STAR/DOM_STAR/DOW_STAR: the field starts with `*` (`?` and `H/n` count too). */
function isWildcard(field: string): boolean {
  const first = field.charCodeAt(0);
  if (first === 42 /* * */ || first === 63 /* ? */) return true;
  return first === 72 /* H */ && field.length > 2 && /^H\/\d+$/.test(field);
}

function allowsAll(table: FieldTable, min: number, max: number): boolean {
  for (let v = min; v <= max; v++) if (!table.allowed[v]) return false;
  return true;
}

const DAYS_IN_MONTH_MAX = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function someMonthHasADay(dayOfMonth: FieldTable, month: FieldTable): boolean {
  for (let m = 1; m <= 12; m++) {
    if (!month.allowed[m]) continue;
    const first = dayOfMonth.next[1]!;
    if (first >= 0 && first <= DAYS_IN_MONTH_MAX[m]!) return true;
  }
  return false;
}

const HASH_ITEM = /^H(?:\((\d+)-(\d+)\))?(?:\/(\d+))?$/;

/** Replaces Jenkins-style `H`, `H(a-b)`, `H/n`, `H(a-b)/n` list items by values hashed from the job name. */
function expandHashTokens(field: string, fieldIndex: number, draws: StableDraws): string {
  if (!field.includes('H')) return field;
  const unit = UNITS[fieldIndex]!;
  if (field === 'H') {
    // The common case, without the list machinery below (same slot: first item of the field).
    const [lo, hi] = H_RANGE[unit];
    return String(draws.int(fieldIndex, lo, hi));
  }
  return field
    .split(',')
    .map((item, index) => {
      const match = HASH_ITEM.exec(item);
      if (!match) return item;
      const [lo, hi] = hashRange(unit, match, field);
      const slot = index * UNITS.length + fieldIndex;
      if (match[3] === undefined) return String(draws.int(slot, lo, hi));
      const step = Number(match[3]);
      if (step < 1)
        throw new ScheduleError(`${LABEL[unit]} field "${field}": the step of H must be at least 1`);
      const start = lo + draws.int(slot, 0, Math.min(step, hi - lo + 1) - 1);
      return `${start}-${hi}/${step}`;
    })
    .join(',');
}

function hashRange(unit: Unit, match: RegExpExecArray, field: string): [number, number] {
  if (match[1] === undefined) return H_RANGE[unit];
  const [lo, hi] = [Number(match[1]), Number(match[2])];
  const min = unit === 'dayOfMonth' || unit === 'month' ? 1 : 0;
  if (lo > hi || lo < min || hi > FIELD_MAX[unit])
    throw new ScheduleError(
      `${LABEL[unit]} field "${field}": H range ${lo}-${hi} must be ascending within ${min}-${FIELD_MAX[unit]}`,
    );
  return [lo, hi];
}

/** One cache per field position, keyed by field text; tables are immutable and shared. */
const tableCaches = UNITS.map(() => new Map<string, FieldTable>());

function fieldTable(index: number, field: string, expression: string): FieldTable {
  const cache = tableCaches[index]!;
  let table = cache.get(field);
  if (!table) {
    const unit = UNITS[index]!;
    table = buildTable(unit, expandField(unit, field, expression));
    cache.set(field, table);
  }
  return table;
}

function expandField(unit: Unit, field: string, expression: string): number[] {
  const unsupported = unit === 'dayOfMonth' ? /[LW#]/i : unit === 'dayOfWeek' ? /[L#]/i : null;
  const where = `invalid cron "${expression}": ${LABEL[unit]} field "${field}"`;
  if (unsupported?.test(field)) throw new ScheduleError(`${where}: L, W and # are not supported`);
  // A leftover H would reach cron-parser, whose own H is not stable across processes.
  if (/H/i.test(field.replace(/THU/gi, '')))
    throw new ScheduleError(`${where}: write H as a whole list item: H, H(a-b), H/n or H(a-b)/n`);
  const probe = UNITS.map((u) => (u === unit ? field : '*')).join(' ');
  try {
    const values = CronExpressionParser.parse(probe, { strict: false }).fields[unit].values;
    return values.map((v) => (unit === 'dayOfWeek' && v === 7 ? 0 : Number(v)));
  } catch (err) {
    throw new ScheduleError(`${where}: ${(err as Error).message}`);
  }
}

function buildTable(unit: Unit, values: number[]): FieldTable {
  const size = FIELD_MAX[unit] + 1;
  const allowed = new Uint8Array(size + 1);
  for (const v of values) allowed[v] = 1;
  const next = new Int8Array(size + 1).fill(-1);
  for (let v = size - 1; v >= 0; v--) next[v] = allowed[v] ? v : next[v + 1]!;
  return { next, allowed };
}
