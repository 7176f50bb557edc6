/**
 * Strict JSON → syntax tree with offsets (jsonc-parser with comments and trailing commas
 * rejected). Pure. Only the first syntax error is reported: later ones are usually echoes.
 */
import { parseTree, ParseErrorCode, type ParseError } from 'jsonc-parser';

/** The part of jsonc-parser's Node the checks use; also built from JSON.parse output (offset 0). */
export interface JsonNode {
  readonly type: 'object' | 'array' | 'property' | 'string' | 'number' | 'boolean' | 'null';
  readonly value?: unknown;
  readonly offset: number;
  readonly children?: JsonNode[];
}

/** jsonc-parser is a recursive-descent parser: a deeper document would overflow the stack. */
export const MAX_NESTING = 64;

export type JsonDocument = { ok: true; root: JsonNode } | { ok: false; offset: number; message: string };

export function parseJsonDocument(rawText: string): JsonDocument {
  // A byte-order mark is tolerated (RFC 8259 §8.1); a space keeps every offset where it was.
  const text = rawText.charCodeAt(0) === 0xfeff ? ` ${rawText.slice(1)}` : rawText;
  const deep = findExcessiveNesting(text);
  if (deep !== -1)
    return {
      ok: false,
      offset: deep,
      message: `JSON nested deeper than ${MAX_NESTING} levels; flatten the document`,
    };
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  const first = errors[0];
  if (first) return { ok: false, offset: errorOffset(text, first), message: describeError(text, first) };
  if (!root) return { ok: false, offset: 0, message: 'file is empty; it must contain one JSON object' };
  return { ok: true, root };
}

/**
 * The fast path for the common, valid file: JSON.parse (native) and a light tree without
 * offsets. Undefined when the text needs the located parser: a syntax error, nesting deeper
 * than MAX_NESTING, or duplicate keys, which JSON.parse silently merges: in valid JSON every
 * colon outside strings ends a key, so when there are as many as keys were parsed, no key
 * was repeated. `colons`: that count, when the reader thread made it already.
 */
export function parseJsonFast(text: string, colons?: number): JsonNode | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const keys = countParsedKeys(value, 0);
  return keys !== -1 && keys === (colons ?? countKeys(text)) ? new PlainNode(value) : undefined;
}

/**
 * A JSON.parse value seen as a JsonNode (offset 0). Children are made only when asked for:
 * the checks walk objects and arrays through plainObject/plainArray without building them.
 */
export class PlainNode implements JsonNode {
  readonly type: JsonNode['type'];
  /** Set for strings, numbers and booleans (and null), as in the located tree. */
  readonly value?: unknown;
  readonly offset = 0;
  readonly #raw: unknown;

  constructor(raw: unknown) {
    this.#raw = raw;
    if (raw === null) {
      this.type = 'null';
      this.value = null;
    } else if (typeof raw !== 'object') {
      this.type = typeof raw as 'string' | 'number' | 'boolean';
      this.value = raw;
    } else this.type = Array.isArray(raw) ? 'array' : 'object';
  }

  /** The parsed object behind an object node. */
  get object(): Readonly<Record<string, unknown>> | undefined {
    return this.type === 'object' ? (this.#raw as Record<string, unknown>) : undefined;
  }

  /** The parsed array behind an array node. */
  get array(): readonly unknown[] | undefined {
    return this.type === 'array' ? (this.#raw as unknown[]) : undefined;
  }

  get children(): JsonNode[] | undefined {
    const array = this.array;
    if (array) return array.map((item) => new PlainNode(item));
    const object = this.object;
    if (!object) return undefined;
    return Object.keys(object).map((key) => ({
      type: 'property',
      offset: 0,
      children: [{ type: 'string', value: key, offset: 0 }, new PlainNode(object[key])],
    }));
  }
}

/** Keys in a parsed value, or -1 when it nests deeper than MAX_NESTING. Allocates nothing. */
function countParsedKeys(value: unknown, depth: number): number {
  if (value === null || typeof value !== 'object') return 0;
  if (depth >= MAX_NESTING) return -1;
  let keys = 0;
  if (Array.isArray(value)) {
    for (const item of value) {
      const inner = countParsedKeys(item, depth + 1);
      if (inner === -1) return -1;
      keys += inner;
    }
    return keys;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const inner = countParsedKeys(record[key], depth + 1);
    if (inner === -1) return -1;
    keys += inner + 1;
  }
  return keys;
}

/** Colons outside strings (for text that JSON.parse accepted). */
function countKeys(text: string): number {
  let keys = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) i = closingQuote(text, i);
    else if (c === 0x3a) keys++;
  }
  return keys;
}

function closingQuote(text: string, open: number): number {
  let i = text.indexOf('"', open + 1);
  while (i !== -1 && isEscaped(text, i)) i = text.indexOf('"', i + 1);
  return i === -1 ? text.length : i;
}

/** An odd number of backslashes right before `at`. */
function isEscaped(text: string, at: number): boolean {
  let n = 0;
  while (text.charCodeAt(at - 1 - n) === 0x5c) n++;
  return n % 2 === 1;
}

/** Offset of the first bracket opened beyond MAX_NESTING, or -1. Strings are skipped. */
function findExcessiveNesting(text: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_NESTING) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return -1;
}

function errorOffset(text: string, error: ParseError): number {
  const comma = trailingCommaBefore(text, error);
  return comma === -1 ? error.offset : comma;
}

/** For "value expected" at a closing bracket: the offset of the comma right before it, or -1. */
function trailingCommaBefore(text: string, error: ParseError): number {
  if (error.error !== ParseErrorCode.PropertyNameExpected && error.error !== ParseErrorCode.ValueExpected)
    return -1;
  const closer = text[error.offset];
  if (closer !== '}' && closer !== ']') return -1;
  let i = error.offset - 1;
  while (i >= 0 && /\s/.test(text[i]!)) i--;
  return text[i] === ',' ? i : -1;
}

function describeError(text: string, error: ParseError): string {
  if (trailingCommaBefore(text, error) !== -1)
    return 'trailing comma is not allowed in JSON; remove this ","';
  if (error.offset >= text.trimEnd().length && error.error !== ParseErrorCode.EndOfFileExpected)
    return text.trim() === ''
      ? 'file is empty; it must contain one JSON object'
      : `unexpected end of file: ${MESSAGES[error.error] ?? 'the document is incomplete'}`;
  return `invalid JSON: ${MESSAGES[error.error] ?? 'syntax error'}`;
}

const MESSAGES: Partial<Record<ParseErrorCode, string>> = {
  [ParseErrorCode.InvalidSymbol]:
    'unexpected character; values are objects, arrays, "strings", numbers, true, false or null',
  [ParseErrorCode.InvalidNumberFormat]: 'malformed number',
  [ParseErrorCode.PropertyNameExpected]: 'expected a "quoted" property name',
  [ParseErrorCode.ValueExpected]: 'expected a value',
  [ParseErrorCode.ColonExpected]: 'expected ":" after the property name',
  [ParseErrorCode.CommaExpected]: 'expected "," between entries',
  [ParseErrorCode.CloseBraceExpected]: 'expected "}" to close the object',
  [ParseErrorCode.CloseBracketExpected]: 'expected "]" to close the array',
  [ParseErrorCode.EndOfFileExpected]:
    'unexpected content after the end of the document; a file holds exactly one JSON object',
  [ParseErrorCode.InvalidCommentToken]:
    'comments are not allowed in JSON; remove the comment (use "description" for notes)',
  [ParseErrorCode.UnexpectedEndOfComment]: 'comments are not allowed in JSON; remove the comment',
  [ParseErrorCode.UnexpectedEndOfString]:
    'unterminated string; close it with " (a line break inside a string must be written \\n)',
  [ParseErrorCode.UnexpectedEndOfNumber]: 'malformed number',
  [ParseErrorCode.InvalidUnicode]: 'invalid \\u escape; it needs four hex digits',
  [ParseErrorCode.InvalidEscapeCharacter]: 'invalid escape sequence in string; write a backslash as \\\\',
  [ParseErrorCode.InvalidCharacter]: 'control character inside a string; escape it (e.g. \\n, \\t)',
};
