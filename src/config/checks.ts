/**
 * Typed, located checks over a JSON syntax tree. Every reader reports its own problem (at the
 * offending value, or at the key for unknown fields) and returns undefined on bad input, so
 * parsers collect every problem of a file in one pass. Pure.
 */
import type { ConfigProblem } from '../core/types.js';
import { DurationError, formatDuration, MAX_DURATION_MS, parseDuration } from '../core/duration.js';
import { parseJsonDocument, parseJsonFast, PlainNode, type JsonNode } from './json-doc.js';
import { formatPath, LineIndex, type PathSegment } from './locate.js';
import type { ReadFacts } from './read-facts.js';
import { noItems } from './shared-defaults.js';
import { rememberSource } from './source-map.js';
import { closestMatch } from './suggest.js';

/** The problems of a clean file, shared (most files are clean). */
const NO_PROBLEMS = noItems<ConfigProblem>();

/**
 * A value found in the document. The path to it is a parent chain, turned into an array only
 * when a problem is reported (most values never need it).
 */
export interface Located {
  node: JsonNode;
  parent?: Located;
  segment?: PathSegment;
  /** The property key node, when the value is an object member. */
  key?: JsonNode;
}

export class ProblemSink {
  readonly problems: ConfigProblem[] = [];
  private lines?: LineIndex;

  /** `located` false: the tree came from JSON.parse and has no offsets (the fast path). */
  constructor(
    readonly file: string,
    readonly text: string,
    readonly located = true,
  ) {}

  error(at: Located | { offset: number; path: PathSegment[] }, message: string): undefined {
    this.add(
      'node' in at ? at.node.offset : at.offset,
      'node' in at ? pathOf(at) : at.path,
      message,
      'error',
    );
    return undefined;
  }

  warn(at: Located, message: string): void {
    this.add(at.node.offset, pathOf(at), message, 'warning');
  }

  errorAtKey(at: Located, message: string): undefined {
    this.add((at.key ?? at.node).offset, pathOf(at), message, 'error');
    return undefined;
  }

  position(offset: number): { line: number; column: number } {
    this.lines ??= new LineIndex(this.text);
    return this.lines.position(offset);
  }

  add(
    offset: number,
    path: readonly PathSegment[],
    message: string,
    severity: ConfigProblem['severity'],
  ): void {
    const { line, column } = this.located ? this.position(offset) : { line: 0, column: 0 };
    this.problems.push({ file: this.file, line, column, path: formatPath(path), message, severity });
  }

  get errorCount(): number {
    return this.problems.filter((p) => p.severity === 'error').length;
  }
}

export function pathOf(at: Located): PathSegment[] {
  const path: PathSegment[] = [];
  for (let cur: Located | undefined = at; cur?.segment !== undefined; cur = cur.parent)
    path.push(cur.segment);
  return path.reverse();
}

export function describeType(node: JsonNode): string {
  switch (node.type) {
    case 'object':
      return 'an object';
    case 'array':
      return 'an array';
    case 'string':
      return `the string ${JSON.stringify(node.value)}`;
    case 'number':
      return `the number ${String(node.value)}`;
    case 'boolean':
      return String(node.value);
    default:
      return 'null';
  }
}

/** `"timeout"`, or `"on"[2]` for an array entry. */
function label(at: Located): string {
  const path = pathOf(at);
  let i = path.length - 1;
  while (i >= 0 && typeof path[i] === 'number') i--;
  const indices = path
    .slice(i + 1)
    .map((n) => `[${n}]`)
    .join('');
  return i >= 0 ? `"${path[i]}"${indices}` : `the document${indices}`;
}

export function wrongType(sink: ProblemSink, at: Located, expected: string, hint = ''): undefined {
  return sink.error(
    at,
    `${label(at)} must be ${expected}, not ${describeType(at.node)}${hint ? `; ${hint}` : ''}`,
  );
}

/** The known members of an object by key (a Map, or a view of a parsed object). */
export interface Fields {
  get(key: string): Located | undefined;
  has(key: string): boolean;
  [Symbol.iterator](): Iterator<[string, Located]>;
}

/**
 * A parsed object's known members, looked up when asked for: most objects are read once, and
 * building a Map of every member costs more than the rest of the check at 100,000 files.
 */
class PlainFields implements Fields {
  constructor(
    private readonly object: Readonly<Record<string, unknown>>,
    private readonly known: readonly string[],
    private readonly parent: Located,
  ) {}

  get(key: string): Located | undefined {
    if (!this.has(key)) return undefined;
    return { node: new PlainNode(this.object[key]), parent: this.parent, segment: key };
  }

  has(key: string): boolean {
    return Object.hasOwn(this.object, key) && this.known.includes(key);
  }

  *[Symbol.iterator](): Iterator<[string, Located]> {
    for (const key in this.object) if (this.known.includes(key)) yield [key, this.get(key)!];
  }
}

/** Members of an object; unknown and duplicate keys are reported. */
export function objectFields(
  sink: ProblemSink,
  at: Located,
  known: readonly string[],
  hints: Record<string, string> = {},
): Fields | undefined {
  if (at.node.type !== 'object') return wrongType(sink, at, 'an object');
  const plain = at.node instanceof PlainNode ? at.node.object : undefined;
  if (plain) {
    // JSON.parse output: no duplicate keys (checked before), no key nodes (offsets are all 0).
    for (const key in plain)
      if (!known.includes(key))
        sink.errorAtKey(
          { node: new PlainNode(plain[key]), parent: at, segment: key },
          unknownFieldMessage(key, known, hints),
        );
    return new PlainFields(plain, known, at);
  }
  const fields = new Map<string, Located>();
  for (const property of at.node.children ?? []) {
    const [keyNode, valueNode] = property.children ?? [];
    if (!keyNode || !valueNode) continue;
    const key = String(keyNode.value);
    const field: Located = { node: valueNode, key: keyNode, parent: at, segment: key };
    if (fields.has(key)) sink.errorAtKey(field, `duplicate field "${key}"; keep only one of them`);
    else if (!known.includes(key)) sink.errorAtKey(field, unknownFieldMessage(key, known, hints));
    else fields.set(key, field);
  }
  return fields;
}

function unknownFieldMessage(key: string, known: readonly string[], hints: Record<string, string>): string {
  if (hints[key]) return `unknown field "${key}" — ${hints[key]}`;
  const guess = closestMatch(key, known);
  if (guess) return `unknown field "${key}" — did you mean "${guess}"?`;
  return `unknown field "${key}"; known fields here: ${known.map((k) => `"${k}"`).join(', ')}`;
}

export function arrayItems(sink: ProblemSink, at: Located, expected = 'an array'): Located[] | undefined {
  if (at.node.type !== 'array') return wrongType(sink, at, expected);
  const plain = at.node instanceof PlainNode ? at.node.array : undefined;
  if (plain) return plain.map((item, i) => ({ node: new PlainNode(item), parent: at, segment: i }));
  return (at.node.children ?? []).map((node, i) => ({ node, parent: at, segment: i }));
}

export function readString(
  sink: ProblemSink,
  at: Located,
  opts: { nonEmpty?: boolean } = {},
): string | undefined {
  if (at.node.type !== 'string') return wrongType(sink, at, 'a string');
  const value = at.node.value as string;
  if (opts.nonEmpty && value.trim() === '') return sink.error(at, `${label(at)} must not be empty`);
  // No command line, environment variable or path can carry a NUL byte.
  if (value.includes('\0')) return sink.error(at, `${label(at)} must not contain a NUL character`);
  return value;
}

export function readBoolean(sink: ProblemSink, at: Located): boolean | undefined {
  if (at.node.type !== 'boolean') return wrongType(sink, at, 'true or false');
  return at.node.value as boolean;
}

export function readInteger(sink: ProblemSink, at: Located, min: number, max: number): number | undefined {
  const value = at.node.value;
  if (at.node.type !== 'number' || typeof value !== 'number' || !Number.isInteger(value))
    return wrongType(sink, at, `a whole number from ${min} to ${max}`);
  if (value < min || value > max)
    return sink.error(at, `${label(at)} must be from ${min} to ${max}, not ${value}`);
  return value;
}

export function readEnum<T extends string>(
  sink: ProblemSink,
  at: Located,
  allowed: readonly T[],
): T | undefined {
  const choices = allowed.map((a) => `"${a}"`).join(', ');
  if (at.node.type !== 'string') return wrongType(sink, at, `one of ${choices}`);
  const value = at.node.value as string;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  const guess = closestMatch(value, allowed);
  const hint = guess ? ` — did you mean "${guess}"?` : '';
  return sink.error(at, `${label(at)} must be one of ${choices}, not "${value}"${hint}`);
}

/** A Go-style duration string; `min` and `max` in milliseconds. */
export function readDuration(
  sink: ProblemSink,
  at: Located,
  min = 1,
  max = MAX_DURATION_MS,
): number | undefined {
  if (at.node.type !== 'string')
    return wrongType(sink, at, 'a duration string', `write it with a unit, e.g. "30s", "5m" or "1h30m"`);
  try {
    const ms = parseDuration(at.node.value as string);
    if (ms < min) return sink.error(at, `${label(at)} must be at least ${formatDuration(min)}`);
    if (ms > max)
      return sink.error(
        at,
        `${label(at)} must be at most ${formatDuration(max)}, not "${at.node.value as string}"`,
      );
    return ms;
  } catch (err) {
    if (err instanceof DurationError) return sink.error(at, `${label(at)}: ${err.message}`);
    throw err;
  }
}

export function readStringArray(
  sink: ProblemSink,
  at: Located,
  opts: { nonEmpty?: boolean; emptyItems?: boolean; item?: (s: string, item: Located) => boolean } = {},
): string[] | undefined {
  const items = arrayItems(sink, at, 'an array of strings');
  if (!items) return undefined;
  if (opts.nonEmpty && items.length === 0) return sink.error(at, `${label(at)} must not be empty`);
  // Sized up front: a pushed-to array keeps spare capacity, and 100,000 jobs keep theirs.
  const out = new Array<string>(items.length);
  let ok = true;
  for (let i = 0; i < items.length; i++) {
    const value = readString(sink, items[i]!, { nonEmpty: !opts.emptyItems });
    if (value === undefined || (opts.item && !opts.item(value, items[i]!))) ok = false;
    else out[i] = value;
  }
  return ok ? out : undefined;
}

/** An object of string → string, with an optional check of each key. */
export function readStringMap(
  sink: ProblemSink,
  at: Located,
  checkKey?: (key: string, field: Located) => boolean,
): Record<string, string> | undefined {
  if (at.node.type !== 'object') return wrongType(sink, at, 'an object of "name": "value" strings');
  const out: Record<string, string> = {};
  let ok = true;
  for (const property of at.node.children ?? []) {
    const [keyNode, valueNode] = property.children ?? [];
    if (!keyNode || !valueNode) continue;
    const key = String(keyNode.value);
    const field: Located = { node: valueNode, key: keyNode, parent: at, segment: key };
    if (Object.hasOwn(out, key)) ok = sink.errorAtKey(field, `duplicate key "${key}"`) ?? false;
    else if (checkKey && !checkKey(key, field)) ok = false;
    else if (valueNode.type !== 'string')
      ok =
        wrongType(
          sink,
          field,
          'a string',
          valueNode.type === 'number' ? `quote it: "${valueNode.value}"` : '',
        ) ?? false;
    else if (readString(sink, field) === undefined) ok = false;
    else out[key] = valueNode.value as string;
  }
  return ok ? out : undefined;
}

/**
 * Runs `build` over a document: first over the fast JSON.parse tree; when that finds any
 * problem (or cannot be used), again over the located tree so every problem has its place.
 * `facts`, when given, come from the reader thread (bytes kept for later places instead of `text`).
 */
export function checkDocument<T extends object>(
  file: string,
  text: string,
  build: (sink: ProblemSink, root: Located) => T | undefined,
  facts?: ReadFacts,
): { def?: T; problems: ConfigProblem[] } {
  const fast = parseJsonFast(text, facts?.colons);
  if (fast) {
    const sink = new ProblemSink(file, text, false);
    const def = build(sink, { node: fast });
    if (def !== undefined && sink.problems.length === 0) {
      rememberSource(def, file, facts ?? text);
      return { def, problems: NO_PROBLEMS };
    }
  }
  const sink = new ProblemSink(file, text);
  const doc = parseJsonDocument(text);
  if (!doc.ok) {
    sink.error({ offset: doc.offset, path: [] }, doc.message);
    return { problems: sink.problems };
  }
  const def = build(sink, { node: doc.root });
  if (def === undefined || sink.errorCount > 0) return { problems: sink.problems };
  rememberSource(def, file, facts ?? text);
  return { def, problems: sink.problems };
}
