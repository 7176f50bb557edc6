/**
 * Mocha helpers for suites that run against the real sshd test hosts.
 */
import { execFileSync } from 'node:child_process';
import type { CommandSpec, NodeDef } from '../../src/core/types.js';
import type { ExecRequest } from '../../src/exec/executor.js';
import { skipSuite } from './skip.js';
import { SshTestHosts, sshdMissingReason, type SshTestHostsOptions } from './sshd.js';
import { installSudoRule, removeSudoRule, sudoMissingReason } from './ssh-setup.js';

/**
 * Starts hosts in `before` (skipping the suite loudly when sshd cannot run here) and stops
 * them in `after`, whatever the tests did. Read `.hosts` inside tests.
 */
export function useSshHosts(suite: string, options: SshTestHostsOptions): { hosts: SshTestHosts } {
  const holder = {} as { hosts: SshTestHosts };
  before(async function () {
    this.timeout(60_000);
    const missing = sshdMissingReason();
    if (missing) skipSuite(this, suite, missing);
    holder.hosts = await SshTestHosts.start(options);
  });
  after(async function () {
    this.timeout(30_000);
    await holder.hosts?.close();
  });
  return holder;
}

/** The harness sudoers rule (see installSudoRule) for the suite's duration; skips loudly without sudo. */
export function useSudoRule(suite: string): void {
  before(function () {
    const missing = sshdMissingReason() ?? sudoMissingReason();
    if (missing) skipSuite(this, suite, missing);
    installSudoRule();
  });
  after(() => removeSudoRule());
}

export function argv(...words: string[]): CommandSpec {
  return { kind: 'argv', argv: words };
}

export function shell(script: string): CommandSpec {
  return { kind: 'shell', script };
}

export function request(command: CommandSpec, extra: Partial<ExecRequest> = {}): ExecRequest {
  return {
    runId: `run-${Math.random().toString(36).slice(2)}`,
    job: 'test-job',
    command,
    environment: {},
    signal: new AbortController().signal,
    outputLimitBytes: 1024 * 1024,
    ...extra,
  };
}

/** Command lines of live (non-zombie) processes on this machine whose command line contains `marker`. */
export function processesWith(marker: string): string[] {
  const out = execFileSync('/bin/sh', ['-c', `pgrep -af -- ${JSON.stringify(marker)} || true`], {
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.includes('pgrep -af'))
    .filter((l) => !l.includes(`sh -c pgrep`));
}

export function nodeMap(nodes: NodeDef[]): (name: string) => NodeDef | undefined {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  return (name) => byName.get(name);
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
