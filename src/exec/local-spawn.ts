import { chmod, mkdtemp, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CommandSpec } from '../core/types.js';
import { commandLine, isValidEnvName, shellQuote } from './quote.js';

/** What `child_process.spawn` gets for one local run. */
export interface SpawnPlan {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Bytes written to the process's stdin before it is closed (a script delivered on stdin). */
  stdin?: Buffer;
  /** An uploaded script's directory, removed when the run has ended. */
  uploadDir?: string;
}

/**
 * Turns a run request into a spawn plan, or a message saying why it cannot run. Checked up
 * front because spawn reports a missing cwd and a missing program with the same ENOENT.
 */
export async function planSpawn(
  command: CommandSpec,
  environment: Record<string, string>,
  baseEnv: Readonly<Record<string, string>>,
  workingDirectory?: string,
): Promise<SpawnPlan | string> {
  const program = programOf(command);
  if (typeof program === 'string') return program;
  const envProblem = checkEnvironment(environment);
  if (envProblem) return envProblem;
  const cwdProblem = workingDirectory === undefined ? null : await checkDirectory(workingDirectory);
  if (cwdProblem) return cwdProblem;
  const env = { ...baseEnv, ...environment };
  if (command.kind !== 'script' && command.runAs === undefined)
    return { ...program, env, cwd: workingDirectory };
  try {
    const shellPlan = await throughShell(command, environment, baseEnv.HOME ?? homedir());
    return { ...shellPlan, env, cwd: workingDirectory };
  } catch (err) {
    return `local: cannot prepare the script: ${(err as Error).message}`;
  }
}

function programOf(command: CommandSpec): { file: string; args: string[] } | string {
  const words =
    command.kind === 'argv' ? command.argv : command.kind === 'shell' ? [command.script] : command.args;
  if (words.some((w) => w.includes('\0'))) return 'local: the command contains a NUL byte; remove it';
  if (command.kind === 'shell') return { file: '/bin/sh', args: ['-c', command.script] };
  if (command.kind === 'script') return { file: '/bin/sh', args: [] };
  const [file, ...args] = command.argv;
  if (file === undefined || file === '') return 'local: the command is empty; give a program to run';
  return { file, args };
}

/**
 * A script or a run_as command runs through `/bin/sh -c` with the same checks and words as
 * over ssh (see commandLine); the environment goes on the line only under sudo (which resets it).
 */
async function throughShell(
  command: CommandSpec,
  environment: Record<string, string>,
  home: string,
): Promise<{ file: string; args: string[]; stdin?: Buffer; uploadDir?: string }> {
  let uploadDir: string | undefined;
  let scriptPath: string | undefined;
  if (command.kind === 'script' && command.delivery === 'upload') {
    uploadDir = await mkdtemp(join(home, '.distcron-script.'));
    await chmod(uploadDir, 0o700);
    scriptPath = shellQuote(join(uploadDir, 'script'));
    await writeFile(join(uploadDir, 'script'), command.content, { mode: 0o700 });
  }
  const line = commandLine(command, environment, { inlineEnv: false, scriptPath });
  const script = `${line.checks.map((c) => `{ ${c}; } && `).join('')}exec ${line.words}`;
  const stdin = command.kind === 'script' && command.delivery === 'stdin' ? command.content : undefined;
  return { file: '/bin/sh', args: ['-c', script], stdin, uploadDir };
}

function checkEnvironment(environment: Record<string, string>): string | null {
  for (const [name, value] of Object.entries(environment)) {
    if (!isValidEnvName(name)) return `local: invalid environment variable name ${JSON.stringify(name)}`;
    if (value.includes('\0')) return `local: environment variable ${name} contains a NUL byte; remove it`;
  }
  return null;
}

async function checkDirectory(dir: string): Promise<string | null> {
  try {
    const info = await stat(dir);
    return info.isDirectory() ? null : `local: working directory ${dir} is not a directory`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return `local: working directory ${dir} does not exist; create it or fix working_directory`;
    return `local: working directory ${dir} cannot be used (${code ?? String(err)})`;
  }
}

/** A spawn failure in words; the program name is what the operator has to fix. */
export function describeSpawnError(err: unknown, file: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `local: command not found: ${file} (check the path or the daemon's PATH)`;
  if (code === 'EACCES') return `local: permission denied: ${file} (is it executable?)`;
  const message = err instanceof Error ? err.message : String(err);
  return `local: could not start ${file}: ${message}`;
}
