import { spawn, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import type { RunRecord } from '../../src/core/types.js';

const CLI = new URL('../../src/cli/main.ts', import.meta.url).pathname;

/** A real `distcron daemon` process (through tsx), for crash and signal tests. */
export class DaemonProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  log = '';

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, ['--import', 'tsx', CLI, 'daemon', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (c: Buffer) => (this.log += c.toString()));
    this.child.stderr!.on('data', (c: Buffer) => (this.log += c.toString()));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/** Reads runs straight from the SQLite file, as an operator with `sqlite3` would. */
export function readRuns(dbPath: string, job: string): RunRecord[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT * FROM runs WHERE job = ? ORDER BY id').all(job) as RunRecord[];
  } finally {
    db.close();
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch {
      // not there yet (e.g. database file not created)
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
