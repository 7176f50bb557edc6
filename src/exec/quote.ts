import type { CommandSpec } from '../core/types.js';
import { interpreterProgram, stdinProgramWords } from './script.js';

/** POSIX single-quote one word: safe for any byte sequence, including newlines and `'`. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isValidEnvName(name: string): boolean {
  return ENV_NAME.test(name);
}

/**
 * The command line a remote POSIX shell runs for a job: `cd` to the working directory, the
 * environment inline (no dependence on sshd's AcceptEnv), then the argv word by word or the
 * shell command via `/bin/sh -c`. With checks (run_as, a script's interpreter) they come first.
 */
export function buildRemoteCommand(
  command: CommandSpec,
  environment: Record<string, string>,
  workingDirectory?: string,
): string {
  const line = commandLine(command, environment, { inlineEnv: true });
  const cd = workingDirectory !== undefined ? `${cdCommand(workingDirectory)} && ` : '';
  return `${cd}${line.checks.map((c) => `{ ${c}; } && `).join('')}${line.words}`;
}

/** Exit status of a check that failed before the command ran; stderr's first line says which. */
export const SETUP_FAILURE_EXIT = 125;
export const SETUP_FAILURE_PREFIX = 'DISTCRON_FAIL=';

export interface CommandLine {
  /** Shell snippets to run first; a failing one exits 125 with a `DISTCRON_FAIL=` line on stderr. */
  checks: string[];
  /** `[sudo -n -u USER --] [env K=V …] program args…`, quoted for a POSIX shell. */
  words: string;
}

export interface CommandLineOptions {
  /** Put the environment on the line (`env K=V`): always over ssh; locally only under sudo. */
  inlineEnv: boolean;
  /** For an uploaded script: its path on the host, as a shell word (may expand a variable). */
  scriptPath?: string;
}

/**
 * The words that start a run's program, and the checks before them: with `runAs`, that sudo
 * works without a password (`sudo -n`, never a prompt); for a script, that its interpreter
 * exists (as the user that will run it, with the job's environment).
 */
export function commandLine(
  command: CommandSpec,
  environment: Record<string, string>,
  opts: CommandLineOptions,
): CommandLine {
  const prefix: string[] = [];
  const checks: string[] = [];
  if (command.runAs !== undefined) {
    const sudo = `sudo -n -u ${shellQuote(command.runAs)} --`;
    prefix.push(sudo);
    checks.push(
      `m=$(${sudo} true 2>&1 </dev/null) || { printf '${SETUP_FAILURE_PREFIX}sudo %s\n' "$(printf %s "$m" | tr '\n' ' ')" >&2; exit ${SETUP_FAILURE_EXIT}; }`,
    );
  }
  const env = opts.inlineEnv || command.runAs !== undefined ? envWords(environment) : [];
  if (env.length > 0) prefix.push('env', ...env);
  let words: string[];
  if (command.kind === 'argv') words = argvWords(command.argv);
  else if (command.kind === 'shell') words = ['/bin/sh', '-c', shellQuote(command.script)];
  else {
    const program = interpreterProgram(command.interpreter);
    checks.push(
      `${[...prefix, '/bin/sh', '-c', shellQuote('command -v "$1"'), 'sh', shellQuote(program)].join(' ')} >/dev/null 2>&1 </dev/null || { printf '${SETUP_FAILURE_PREFIX}interpreter %s\n' ${shellQuote(program)} >&2; exit ${SETUP_FAILURE_EXIT}; }`,
    );
    const interpreter = command.interpreter.map(shellQuote);
    const args = command.args.map(shellQuote);
    if (opts.scriptPath !== undefined) words = [...interpreter, opts.scriptPath, ...args];
    else {
      const stdin = stdinProgramWords(command.interpreter);
      if (!stdin)
        throw new Error(
          `exec: interpreter ${program} cannot read a script from stdin; use "script_delivery": "upload"`,
        );
      words = [...interpreter, ...stdin, ...args];
    }
  }
  return { checks, words: [...prefix, ...words].join(' ') };
}

function envWords(environment: Record<string, string>): string[] {
  return Object.entries(environment).map(([k, v]) => {
    if (!isValidEnvName(k)) throw new Error(`exec: invalid environment variable name ${JSON.stringify(k)}`);
    return `${k}=${shellQuote(v)}`;
  });
}

/** What a check that failed before the command said (see commandLine), or null. */
export function setupFailure(
  exitCode: number | null,
  stderr: string,
): { kind: 'sudo' | 'interpreter'; detail: string; rest: string } | null {
  if (exitCode !== SETUP_FAILURE_EXIT || !stderr.startsWith(SETUP_FAILURE_PREFIX)) return null;
  const nl = stderr.indexOf('\n');
  const line = stderr.slice(SETUP_FAILURE_PREFIX.length, nl < 0 ? undefined : nl);
  const m = /^(sudo|interpreter) ?(.*)$/.exec(line);
  if (!m) return null;
  return {
    kind: m[1] as 'sudo' | 'interpreter',
    detail: m[2]!.trim(),
    rest: nl < 0 ? '' : stderr.slice(nl + 1),
  };
}

/** The error message of a setup failure, naming the host (`where`). */
export function setupFailureMessage(
  command: CommandSpec,
  failure: { kind: 'sudo' | 'interpreter'; detail: string },
  where: string,
): string {
  if (failure.kind === 'sudo') {
    const said = failure.detail !== '' ? ` (sudo said: ${failure.detail})` : '';
    return `run_as ${command.runAs ?? '?'} needs passwordless sudo on ${where}${said}; add a NOPASSWD sudoers rule for the login user, or drop run_as`;
  }
  const as = command.runAs !== undefined ? ` for user ${command.runAs}` : '';
  return `interpreter ${failure.detail} not found on ${where}${as}; install it, or set "interpreter" in the job`;
}

/**
 * A relative directory gets "./" so `cd` does not look it up in the remote CDPATH (which would
 * also print the directory to stdout); `--` keeps any name from being read as an option.
 */
export function cdCommand(dir: string): string {
  return `cd -- ${shellQuote(dir.startsWith('/') ? dir : `./${dir}`)}`;
}

/**
 * A program name containing "=" would be taken as an assignment, by the shell (unquoted) and by
 * `env` (quoted or not), so such an argv goes through `exec "$@"`, where it is only ever a word.
 */
function argvWords(argv: string[]): string[] {
  const words = argv.map(shellQuote);
  if (!argv[0]?.includes('=')) return words;
  return ['/bin/sh', '-c', shellQuote('exec "$@"'), 'sh', ...words];
}
