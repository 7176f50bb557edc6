import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import type { NodeDef } from '../../../src/core/types.js';
import type { ExecRequest } from '../../../src/exec/executor.js';

/** Shared by the local executor suites: requests, markers, and process lookups. */

export const LOCAL_NODE: NodeDef = {
  name: 'local',
  file: '/dev/null',
  roles: [],
  labels: {},
  connection: { type: 'local' },
  maxConcurrentRuns: 8,
  disabled: false,
};

export function request(command: ExecRequest['command'], extra: Partial<ExecRequest> = {}): ExecRequest {
  return {
    runId: 'run-1',
    job: 'job-1',
    command,
    environment: {},
    signal: new AbortController().signal,
    outputLimitBytes: 1024 * 1024,
    ...extra,
  };
}

export const shell = (script: string) => ({ kind: 'shell', script }) as const;
export const argv = (...words: string[]) => ({ kind: 'argv', argv: words }) as const;

/**
 * A `sleep` duration unique to one test ("300.<digits>"): it puts a marker in the argv of every
 * sleeping process (and of the shell that starts them) that `pgrep -f` can look for.
 */
export function sleepMarker(): string {
  return `300.${randomInt(1e8, 1e9)}`;
}

/** PIDs of live processes whose command line contains `marker` (zombies have none). */
export function processesWith(marker: string): number[] {
  try {
    const out = execFileSync('pgrep', ['-f', marker.replace(/\./g, '\\.')], { encoding: 'utf8' });
    return out.split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

export async function waitFor(check: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`test: gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Cleanup for a test that failed half-way: no stray sleeper outlives the suite. */
export function killAll(marker: string): void {
  for (const pid of processesWith(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
