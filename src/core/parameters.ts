/**
 * Job parameters (SPEC §11): which names may be declared, and whether a value passes its
 * declaration. Pure; the config loader and the daemon's manual-run path both use it.
 */
import type { ParameterSpec } from './types.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Names the dynamic loader, shells and common interpreters read: a role allowed to press "run"
 * must not be able to set them (LD_PRELOAD or PATH is code execution).
 */
const RESERVED_NAMES = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'ENV',
  'BASH_ENV',
  'IFS',
  'PS4',
  'CDPATH',
  'SHELLOPTS',
  'BASHOPTS',
  'GLOBIGNORE',
  'PROMPT_COMMAND',
  'TMPDIR',
  'LANG',
  'TZ',
  'NODE_OPTIONS',
  'NODE_PATH',
  'PYTHONPATH',
  'PYTHONSTARTUP',
  'PYTHONHOME',
  'PERL5LIB',
  'PERL5OPT',
  'PERLLIB',
  'RUBYLIB',
  'RUBYOPT',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'GCONV_PATH',
  'HOSTALIASES',
  'LOCPATH',
  'NLSPATH',
  'MALLOC_CHECK_',
  'GIT_SSH',
  'GIT_SSH_COMMAND',
]);
const RESERVED_PREFIXES = ['LD_', 'DYLD_', 'BASH_FUNC_', 'LC_', 'DISTCRON_'];

/** Why `name` cannot be a parameter, or null when it can. */
export function parameterNameProblem(name: string): string | null {
  if (!ENV_NAME.test(name))
    return `"${name}" is not a valid parameter name; use letters, digits and "_", not starting with a digit`;
  const upper = name.toUpperCase();
  const prefix = RESERVED_PREFIXES.find((p) => upper.startsWith(p));
  if (prefix !== undefined)
    return `"${name}" cannot be a parameter: ${prefix}* variables are read by the loader, shells or distcron itself; choose another name`;
  if (RESERVED_NAMES.has(upper))
    return `"${name}" cannot be a parameter: shells or interpreters read it; choose another name`;
  return null;
}

/** Why `value` does not pass `spec`, or null when it does. */
export function parameterValueProblem(spec: ParameterSpec, value: string): string | null {
  if (/[\0\n\r]/.test(value)) return 'must not contain NUL, newline or carriage return characters';
  if (spec.maxLength !== undefined && value.length > spec.maxLength)
    return `must be at most ${spec.maxLength} characters long (got ${value.length})`;
  if (spec.enum && !spec.enum.includes(value))
    return `must be one of ${spec.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if (spec.pattern !== undefined && !compiledPattern(spec.pattern).test(value))
    return `must match the pattern ${spec.pattern}`;
  return null;
}

const patterns = new Map<string, RegExp>();

/** Patterns are validated when the job loads, so compiling here cannot throw. */
function compiledPattern(source: string): RegExp {
  let re = patterns.get(source);
  if (!re) {
    re = new RegExp(source, 'u');
    patterns.set(source, re);
  }
  return re;
}

export type ParameterResolution =
  { ok: true; values: Record<string, string> } | { ok: false; parameter: string; message: string };

/** Most values one run may give: a 10,000-entry object is refused before any is looked at. */
export const MAX_PARAMETERS_PER_RUN = 100;

/**
 * The values a run executes with: the given ones, checked against their declarations, and the
 * declared defaults for the rest. Refuses undeclared names, missing required ones and values
 * that fail their rule, naming the parameter.
 */
export function resolveParameters(
  declared: Readonly<Record<string, ParameterSpec>>,
  given: Readonly<Record<string, unknown>> = {},
): ParameterResolution {
  const names = Object.keys(given);
  if (names.length > MAX_PARAMETERS_PER_RUN)
    return refuse('*', `at most ${MAX_PARAMETERS_PER_RUN} parameters may be given, not ${names.length}`);
  for (const name of names) {
    if (!Object.hasOwn(declared, name)) return refuse(name, undeclaredMessage(name, declared));
  }
  const values: Record<string, string> = {};
  for (const [name, spec] of Object.entries(declared)) {
    const value = Object.hasOwn(given, name) ? given[name] : undefined;
    if (value === undefined || value === null) {
      if (spec.default !== undefined) values[name] = spec.default;
      else if (spec.required) return refuse(name, `parameter ${name} is required`);
      continue;
    }
    if (typeof value !== 'string') return refuse(name, `parameter ${name} must be a string`);
    const problem = parameterValueProblem(spec, value);
    if (problem !== null) return refuse(name, `parameter ${name} ${problem}`);
    values[name] = value;
  }
  return { ok: true, values };
}

function undeclaredMessage(name: string, declared: Readonly<Record<string, ParameterSpec>>): string {
  const known = Object.keys(declared);
  const list = known.length === 0 ? 'it declares none' : `declared: ${known.join(', ')}`;
  return `parameter ${name} is not declared by the job (${list})`;
}

function refuse(parameter: string, message: string): ParameterResolution {
  return { ok: false, parameter, message };
}
