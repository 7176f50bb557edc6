/**
 * `"script"` / `"script_inline"` with `"interpreter"`, `"args"`, `"script_delivery"`, and
 * `"run_as"` (SPEC §17). A script file is read here, at load (and at every reload), relative
 * to the job file's directory; its bytes and their sha256 go into the JobDef.
 */
import { dirname, resolve } from 'node:path';
import type { CommandSpec, ScriptSpec } from '../core/types.js';
import {
  DEFAULT_INTERPRETER,
  MAX_SCRIPT_BYTES,
  RUN_AS_USER,
  interpreterProgram,
  sha256Hex,
  shebangInterpreter,
  stdinProgramWords,
} from '../exec/script.js';
import {
  readEnum,
  readString,
  readStringArray,
  type Fields,
  type Located,
  type ProblemSink,
} from './checks.js';
import { readScriptFileSync } from './read-file.js';

const DELIVERY = ['stdin', 'upload'] as const;

export function parseScript(sink: ProblemSink, fields: Fields, jobFile: string): CommandSpec | undefined {
  const fileField = fields.get('script');
  const inlineField = fields.get('script_inline');
  const source = fileField ? readScriptFile(sink, fileField, jobFile) : readInline(sink, inlineField!);
  const args = fields.has('args') ? readStringArray(sink, fields.get('args')!, { emptyItems: true }) : [];
  const delivery = fields.has('script_delivery')
    ? readEnum(sink, fields.get('script_delivery')!, DELIVERY)
    : 'stdin';
  const interpreterField = fields.get('interpreter');
  const given = interpreterField ? readInterpreter(sink, interpreterField) : undefined;
  if (!source || !args || !delivery || (interpreterField && !given)) return undefined;
  const interpreter = given ?? shebangInterpreter(source.content) ?? [...DEFAULT_INTERPRETER];
  if (delivery === 'stdin' && !stdinProgramWords(interpreter)) {
    const where = interpreterField ?? fileField ?? inlineField!;
    const from = given ? '' : ' (from the shebang line)';
    return sink.error(
      where,
      `interpreter ${interpreterProgram(interpreter)}${from} has no known way to read a script from stdin (distcron knows sh, bash, dash, ksh, zsh: "-s --"; python, perl, ruby, node: "-"); set "script_delivery": "upload", or an "interpreter" it knows`,
    );
  }
  const spec: ScriptSpec = { ...source, interpreter, args, delivery };
  return { kind: 'script', ...spec };
}

function readScriptFile(
  sink: ProblemSink,
  at: Located,
  jobFile: string,
): { source: string; content: Buffer; sha256: string } | undefined {
  const path = readString(sink, at, { nonEmpty: true });
  if (path === undefined) return undefined;
  const full = resolve(dirname(jobFile), path);
  const read = readScriptFileSync(full, MAX_SCRIPT_BYTES);
  if (!read.ok)
    return sink.error(
      at,
      `script file ${path} (${full}): ${read.error}; paths are relative to the job file's directory`,
    );
  return { source: path, content: read.bytes, sha256: sha256Hex(read.bytes) };
}

function readInline(
  sink: ProblemSink,
  at: Located,
): { source: string; content: Buffer; sha256: string } | undefined {
  const text = readString(sink, at, { nonEmpty: true });
  if (text === undefined) return undefined;
  const content = Buffer.from(text, 'utf8');
  if (content.length > MAX_SCRIPT_BYTES)
    return sink.error(
      at,
      `"script_inline" is ${content.length} bytes, over the 1 MiB limit (${MAX_SCRIPT_BYTES}); keep long scripts small or split them`,
    );
  return { source: 'inline', content, sha256: sha256Hex(content) };
}

/** `"interpreter": "python3"` (one program) or `["/usr/bin/env", "-S", "python3", "-u"]`. */
function readInterpreter(sink: ProblemSink, at: Located): string[] | undefined {
  if (at.node.type === 'string') {
    const program = readString(sink, at, { nonEmpty: true });
    return program === undefined ? undefined : [program];
  }
  const words = readStringArray(sink, at, { nonEmpty: true });
  if (words && words[0]!.trim() === '')
    return sink.error(at, '"interpreter[0]" (the program) must not be empty');
  return words;
}

/** `"run_as"` onto the parsed command (any kind). */
export function withRunAs(
  sink: ProblemSink,
  fields: Fields,
  command: CommandSpec | undefined,
): CommandSpec | undefined {
  if (!fields.has('run_as')) return command;
  const at = fields.get('run_as')!;
  const user = readString(sink, at, { nonEmpty: true });
  if (user === undefined) return undefined;
  if (!RUN_AS_USER.test(user))
    return sink.error(
      at,
      `"run_as" ${JSON.stringify(user)} is not a valid user name; use letters, digits, "_", "." and "-", not starting with "-" or a digit, at most 32 characters`,
    );
  if (command?.kind === 'script' && command.delivery === 'upload')
    return sink.error(
      at,
      '"run_as" with "script_delivery": "upload" is not supported yet (the uploaded file belongs to the login user); use the default stdin delivery',
    );
  return command ? { ...command, runAs: user } : undefined;
}
