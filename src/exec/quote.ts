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
  if (workingDirectory !== undefined) parts.push(`cd ${shellQuote(workingDirectory)} &&`);
  const env = Object.entries(environment).map(([k, v]) => {
    if (!isValidEnvName(k)) throw new Error(`exec: invalid environment variable name ${JSON.stringify(k)}`);
    return `${k}=${shellQuote(v)}`;
  });
  if (env.length > 0) parts.push('env', ...env);
  if (command.kind === 'argv') parts.push(...command.argv.map(shellQuote));
  else parts.push('/bin/sh', '-c', shellQuote(command.script));
  return parts.join(' ');
}
