import type { CommandSpec } from '../core/types.js';

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
 * shell command via `/bin/sh -c`.
 */
export function buildRemoteCommand(
  command: CommandSpec,
  environment: Record<string, string>,
  workingDirectory?: string,
): string {
  const parts: string[] = [];
  if (workingDirectory !== undefined) parts.push(`${cdCommand(workingDirectory)} &&`);
  const env = Object.entries(environment).map(([k, v]) => {
    if (!isValidEnvName(k)) throw new Error(`exec: invalid environment variable name ${JSON.stringify(k)}`);
    return `${k}=${shellQuote(v)}`;
  });
  if (env.length > 0) parts.push('env', ...env);
  if (command.kind === 'argv') parts.push(...argvWords(command.argv));
  else parts.push('/bin/sh', '-c', shellQuote(command.script));
  return parts.join(' ');
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
