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
 * was repeated.
 */
export function parseJsonFast(text: string): JsonNode | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const counter = { keys: 0 };
  const root = plainNode(value, counter, 0);
  return root && counter.keys === countKeys(text) ? root : undefined;
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

function plainNode(value: unknown, counter: { keys: number }, depth: number): JsonNode | undefined {
  if (value === null) return { type: 'null', value, offset: 0 };
  if (typeof value !== 'object')
    return { type: typeof value as 'string' | 'number' | 'boolean', value, offset: 0 };
  if (depth >= MAX_NESTING) return undefined;
  const children: JsonNode[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      const child = plainNode(item, counter, depth + 1);
      if (!child) return undefined;
      children.push(child);
    }
    return { type: 'array', offset: 0, children };
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const child = plainNode(record[key], counter, depth + 1);
    if (!child) return undefined;
    counter.keys++;
    children.push({
      type: 'property',
      offset: 0,
      children: [{ type: 'string', value: key, offset: 0 }, child],
    });
  }
  return { type: 'object', offset: 0, children };
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
