/** A job's `"parameters"` object → typed declarations (SPEC §11), every problem located. Pure. */
import { parameterNameProblem, parameterValueProblem } from '../core/parameters.js';
import type { ParameterSpec } from '../core/types.js';
import {
  objectFields,
  readBoolean,
  readInteger,
  readString,
  readStringArray,
  wrongType,
  type Located,
  type ProblemSink,
} from './checks.js';

const PARAMETER_FIELDS = ['type', 'enum', 'pattern', 'max_length', 'default', 'required', 'description'];
const PARAMETER_HINTS: Record<string, string> = {
  values: 'write the allowed values as "enum": [...]',
  regex: 'write it as "pattern"',
  maxLength: 'write it as "max_length"',
};
/** Values travel as environment variables and command lines: 64 KiB is already generous. */
export const MAX_PARAMETER_LENGTH = 65_536;
const MAX_DECLARED = 100;

/** `"parameters": {"NAME": {...}, ...}`. */
export function parseParameters(sink: ProblemSink, at: Located): Record<string, ParameterSpec> | undefined {
  if (at.node.type !== 'object') return wrongType(sink, at, 'an object of "NAME": {parameter rules}');
  const entries = members(at);
  if (entries.length > MAX_DECLARED)
    return sink.error(at, `a job may declare at most ${MAX_DECLARED} parameters, not ${entries.length}`);
  const out: Record<string, ParameterSpec> = {};
  let ok = true;
  for (const [name, field] of entries) {
    if (Object.hasOwn(out, name)) {
      ok = sink.errorAtKey(field, `duplicate parameter "${name}"; keep only one of them`) ?? false;
      continue;
    }
    const nameProblem = parameterNameProblem(name);
    if (nameProblem !== null) {
      sink.errorAtKey(field, nameProblem);
      ok = false;
      continue;
    }
    const spec = parseOne(sink, field);
    if (spec) out[name] = spec;
    else ok = false;
  }
  return ok ? out : undefined;
}

/** The object's members in file order (works for the located tree and for JSON.parse output). */
function members(at: Located): [string, Located][] {
  const out: [string, Located][] = [];
  for (const property of at.node.children ?? []) {
    const [keyNode, valueNode] = property.children ?? [];
    if (!keyNode || !valueNode) continue;
    const name = String(keyNode.value);
    out.push([name, { node: valueNode, key: keyNode, parent: at, segment: name }]);
  }
  return out;
}

function parseOne(sink: ProblemSink, at: Located): ParameterSpec | undefined {
  const fields = objectFields(sink, at, PARAMETER_FIELDS, PARAMETER_HINTS);
  if (!fields) return undefined;
  const spec: ParameterSpec = { type: 'string', required: false };
  let ok = true;
  const typeField = fields.get('type');
  if (typeField) {
    const type = readString(sink, typeField);
    if (type !== undefined && type !== 'string')
      ok = sink.error(typeField, `"type" must be "string" (the only parameter type), not "${type}"`) ?? false;
  }
  const read = <T>(key: string, reader: (f: Located) => T | undefined, apply: (v: T) => void) => {
    const field = fields.get(key);
    if (!field) return;
    const value = reader(field);
    if (value === undefined) ok = false;
    else apply(value);
  };
  read(
    'enum',
    (f) => readStringArray(sink, f, { nonEmpty: true, emptyItems: true }),
    (v) => (spec.enum = v),
  );
  read(
    'pattern',
    (f) => readPattern(sink, f),
    (v) => (spec.pattern = v),
  );
  read(
    'max_length',
    (f) => readInteger(sink, f, 1, MAX_PARAMETER_LENGTH),
    (v) => (spec.maxLength = v),
  );
  read(
    'required',
    (f) => readBoolean(sink, f),
    (v) => (spec.required = v),
  );
  read(
    'description',
    (f) => readString(sink, f),
    (v) => (spec.description = v),
  );
  read(
    'default',
    (f) => readString(sink, f),
    (v) => (spec.default = v),
  );
  if (!ok) return undefined;
  const defaultField = fields.get('default');
  if (defaultField && spec.default !== undefined) {
    const problem = parameterValueProblem(spec, spec.default);
    if (problem !== null)
      return sink.error(defaultField, `"default" ${problem}; fix the default or the rule`);
  }
  return spec;
}

function readPattern(sink: ProblemSink, at: Located): string | undefined {
  const source = readString(sink, at, { nonEmpty: true });
  if (source === undefined) return undefined;
  try {
    new RegExp(source, 'u');
    return source;
  } catch (err) {
    return sink.error(at, `"pattern" is not a valid regular expression: ${(err as Error).message}`);
  }
}
