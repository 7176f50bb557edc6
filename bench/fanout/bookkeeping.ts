/**
 * The daemon's own cost per run, without SSH: an `all` job on N nodes (default 200) whose
 * executor does no I/O (each run "finishes" 0–100 ms after it starts), fired --rounds times;
 * CPU of this process per run (claims, records, outbox, notifier, metrics). Less disturbed by
 * other load than wall time, so it shows what the runner and the store add to a fan-out. Run:
 *   npx tsx bench/fanout/bookkeeping.ts [--nodes 200] [--rounds 30]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/log.js';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.js';
import type { ExecOutcome, Executor } from '../../src/exec/executor.js';
import { median } from './stats.js';

function arg(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function writeConfig(dir: string, nodes: number): { jobsDir: string; nodesDir: string } {
  const jobsDir = join(dir, 'jobs.d');
  const nodesDir = join(dir, 'nodes.d');
  mkdirSync(jobsDir);
  mkdirSync(nodesDir);
  const job = { policy: { select: 'all', roles: ['f'] }, schedule: '@manual', command: ['true'] };
  writeFileSync(join(jobsDir, 'fanout.json'), JSON.stringify({ ...job, overlap: 'allow' }));
  for (let i = 0; i < nodes; i++) {
    const connection_options = {
      ssh_host: `127.0.0.${2 + (i % 250)}:22`,
      ssh_user: 'bench',
      // Never read: the executor below opens no connection.
      ssh_private_key_file: '/dev/null',
    };
    const node = { roles: ['f'], connection_type: 'ssh', connection_options };
    writeFileSync(join(nodesDir, `n${i}.json`), JSON.stringify(node));
  }
  return { jobsDir, nodesDir };
}

/** Starts at once and succeeds 0–100 ms later: the spread of a real fan-out's finishes. */
const noIoExecutor: Executor = {
  run: (node, req) =>
    new Promise<ExecOutcome>((resolve) => {
      const startedAt = Date.now();
      req.onStart?.(startedAt, node.name);
      const outcome = { status: 'succeeded', exitCode: 0, signal: null, stdout: '', stderr: '' } as const;
      const done = () =>
        resolve({
          ...outcome,
          outputTruncated: false,
          error: null,
          connectFailed: false,
          startedAt,
          finishedAt: Date.now(),
          host: node.name,
        });
      setTimeout(done, Math.random() * 100);
    }),
  probe: async () => undefined,
  close: async () => undefined,
};

async function fire(daemon: Daemon, nodes: number): Promise<void> {
  const { runIds } = await daemon.control.runJob('fanout', {});
  const runs = await Promise.all(runIds.map((id) => daemon.control.waitForRun(id)));
  if (runs.length !== nodes) throw new Error(`bench: expected ${nodes} runs, got ${runs.length}`);
  const bad = runs.filter((r) => r.status !== 'succeeded');
  if (bad.length > 0)
    throw new Error(`bench: ${bad.length} runs did not succeed, e.g. ${bad[0]!.status}: ${bad[0]!.error}`);
}

async function main(): Promise<void> {
  const nodes = arg('--nodes', 200);
  const rounds = arg('--rounds', 30);
  const dir = mkdtempSync(join(tmpdir(), 'distcron-bookkeeping-'));
  const daemon = await startDaemon(
    { ...writeConfig(dir, nodes), dbPath: join(dir, 'bench.sqlite'), listen: null },
    { logger: silentLogger(), executor: noIoExecutor },
  );
  const perRunMs: number[] = [];
  try {
    for (let i = 0; i < 5; i++) await fire(daemon, nodes); // warm-up: JIT, page cache
    for (let i = 0; i < rounds; i++) {
      const before = process.cpuUsage();
      await fire(daemon, nodes);
      const cpu = process.cpuUsage(before);
      perRunMs.push((cpu.user + cpu.system) / 1000 / nodes);
    }
  } finally {
    await daemon.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const ms = (x: number) => x.toFixed(3);
  process.stdout.write(
    `\ndaemon bookkeeping, ${nodes} runs per fire, ${rounds} fires (no-I/O executor)\n\n` +
      '| CPU ms per run | median | min–max |\n|---|---|---|\n' +
      `| fire → all recorded | ${ms(median(perRunMs))} | ${ms(Math.min(...perRunMs))}–${ms(Math.max(...perRunMs))} |\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
