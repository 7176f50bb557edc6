/**
 * Where parsed values came from, for problems found later (crossCheck: a host that names no
 * node). The text of each definition is kept beside it in a WeakMap (JobDef/NodeDef stay
 * plain data); a place is worked out only when a problem needs it. Pure.
 *
 * At start-up with many files the text is kept as the bytes it was decoded from (TextBytes),
 * not as a string: 100,000 strings on the JS heap are copied by every young-generation GC
 * until they are promoted, which cost more start-up time than parsing them again when a
 * problem needs a place (rare).
 */
import type { ConfigProblem } from '../core/types.js';
import { parseJsonDocument, type JsonNode } from './json-doc.js';
import { formatPath, LineIndex, type PathSegment } from './locate.js';

/** A text's UTF-8 bytes inside a larger buffer (a read-ahead batch), decoded again on demand. */
export interface TextBytes {
  buffer: { toString(encoding: 'utf8', start: number, end: number): string };
  start: number;
  end: number;
}

interface Source {
  file: string;
  text: string | TextBytes;
  /** Places already worked out, by formatted path: snapshots are rebuilt on every change. */
  places?: Map<string, { line: number; column: number }>;
}

/** Safe to share: keyed by the (immutable) parsed definition itself, and gone with it. */
const sources = new WeakMap<object, Source>();

export function rememberSource(def: object, file: string, text: string | TextBytes): void {
  sources.set(def, { file, text });
}

function textOf(source: Source): string {
  const text = source.text;
  return typeof text === 'string' ? text : text.buffer.toString('utf8', text.start, text.end);
}

/** A problem at `path` inside the file `def` was parsed from (its top when unknown). */
export function problemAt(
  def: object & { file: string },
  path: readonly PathSegment[],
  message: string,
  severity: ConfigProblem['severity'],
): ConfigProblem {
  const source = sources.get(def);
  if (!source) return { file: def.file, line: 1, column: 1, path: formatPath(path), message, severity };
  const formatted = formatPath(path);
  source.places ??= new Map();
  let place = source.places.get(formatted);
  if (!place) source.places.set(formatted, (place = locate(textOf(source), path)));
  return { file: source.file, line: place.line, column: place.column, path: formatted, message, severity };
}

function locate(text: string, path: readonly PathSegment[]): { line: number; column: number } {
  const doc = parseJsonDocument(text);
  let node: JsonNode | undefined = doc.ok ? doc.root : undefined;
  for (const segment of path) node = node ? child(node, segment) : undefined;
  return new LineIndex(text).position(node?.offset ?? 0);
}

function child(node: JsonNode, segment: PathSegment): JsonNode | undefined {
  if (typeof segment === 'number') return node.type === 'array' ? node.children?.[segment] : undefined;
  if (node.type !== 'object') return undefined;
  const property = node.children?.find((p) => p.children?.[0]?.value === segment);
  return property?.children?.[1];
}
