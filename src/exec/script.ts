/**
 * Scripts pushed to a host (`script`, `script_inline`): which interpreter runs them and how it
 * is told to read the program from stdin. Pure; shared by the config checks and the executors.
 */
import { createHash } from 'node:crypto';

/** Largest script a job may push (file or inline text). */
export const MAX_SCRIPT_BYTES = 1024 * 1024;

export const DEFAULT_INTERPRETER: readonly string[] = ['/bin/sh'];

/** Shells that take `-s -- args`: the program on stdin, then the script's own arguments. */
const SH_LIKE = /^(sh|bash|dash|ash|ksh|ksh93|mksh|pdksh|zsh|yash|posh)$/;
/** Interpreters that read the program from stdin when it is named `-`: `python3 - args`. */
const DASH_PROGRAM = /^(python[0-9.]*|pypy[0-9.]*|perl[0-9.]*|ruby[0-9.]*|node|nodejs)$/;

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The interpreter a shebang names, split the way Linux does: the program, then everything
 * after it as one optional argument (`#!/usr/bin/env python3` → ["/usr/bin/env", "python3"]).
 * Undefined when the script has no shebang.
 */
export function shebangInterpreter(content: Buffer): string[] | undefined {
  if (content.length < 2 || content[0] !== 0x23 || content[1] !== 0x21) return undefined;
  const end = content.indexOf(0x0a);
  const line = content
    .subarray(2, end < 0 ? Math.min(content.length, 256) : Math.min(end, 256))
    .toString('utf8')
    .trim();
  if (line === '') return undefined;
  const m = /^(\S+)\s*(.*)$/.exec(line)!;
  return m[2] !== '' ? [m[1]!, m[2]!] : [m[1]!];
}

/**
 * The program the interpreter amounts to, by name: `/usr/bin/env -S python3 -u` → "python3",
 * `/bin/bash` → "/bin/bash". This is what must exist on the host.
 */
export function interpreterProgram(interpreter: readonly string[]): string {
  const [first = '/bin/sh', ...rest] = interpreter;
  if (baseName(first) !== 'env') return first;
  const words = rest.flatMap((w) => w.split(/\s+/)).filter((w) => w !== '');
  return words.find((w) => !w.startsWith('-') && !w.includes('=')) ?? first;
}

/**
 * Words after the interpreter that make it read the program from stdin and pass `args` on:
 * sh-like shells `-s --`, python/perl/ruby/node `-`. Undefined for any other interpreter
 * (there is no form that works for all; such a script needs `"script_delivery": "upload"`).
 */
export function stdinProgramWords(interpreter: readonly string[]): string[] | undefined {
  const name = baseName(interpreterProgram(interpreter));
  if (SH_LIKE.test(name)) return ['-s', '--'];
  if (DASH_PROGRAM.test(name)) return ['-'];
  return undefined;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** A user name `run_as` accepts: what useradd accepts, no leading "-" (sudo would read an option). */
export const RUN_AS_USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;

/** A script job's command in words, for people (notifications): `script rotate.sh --days 7`. */
export function scriptCommandText(
  script: { source: string; args: string[] },
  quote: (w: string) => string,
): string {
  const where = script.source === 'inline' ? '(inline script)' : script.source;
  return ['script', where, ...script.args.map(quote)].join(' ');
}
