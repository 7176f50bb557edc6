/**
 * distcron daemon rows: an `all` job (`true`) on every host, from runJob() (the fire) until all
 * N runs are recorded final in SQLite. Cold = a fresh daemon (no pooled connections), warm =
 * the same daemon again. Also reports the process RSS with N pooled connections.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { ExecutorRegistry } from '../../src/exec/executor.js';
import { LocalExecutor } from '../../src/exec/local.js';
import { SshExecutor } from '../../src/exec/ssh/executor.js';
import type { SshTestHosts } from '../../test/harness/sshd.js';
import type { Row } from './stats.js';
import { time } from './tools.js';

export type Repeat = (
  name: string,
  runs: number,
  round: () => Promise<number>,
  note?: string,
) => Promise<Row>;

function writeConfig(dir: string, hosts: SshTestHosts): { jobsDir: string; nodesDir: string } {
  const jobsDir = join(dir, 'jobs.d');
  const nodesDir = join(dir, 'nodes.d');
  mkdirSync(jobsDir);
  mkdirSync(nodesDir);
  const job = { policy: { select: 'all', roles: ['fanout'] }, schedule: '@manual', command: ['true'] };
  writeFileSync(join(jobsDir, 'fanout.json'), JSON.stringify(job));
  for (const h of hosts.hosts) {
    const node = {
      roles: ['fanout'],
      connection_type: 'ssh',
      connection_options: {
        ssh_host: `${h.address}:${hosts.port}`,
        ssh_user: hosts.user,
        ssh_private_key_file: hosts.clientKeyFile,
      },
    };
    writeFileSync(join(nodesDir, `${h.name}.json`), JSON.stringify(node));
  }
  return { jobsDir, nodesDir };
}

async function start(dir: string, hosts: SshTestHosts, n: number): Promise<Daemon> {
  const { jobsDir, nodesDir } = writeConfig(mkdtempSync(join(dir, 'cfg-')), hosts);
  // The SSH executor is handed in through the runtime seam until the daemon wires it itself.
  const ssh = new SshExecutor({ knownHostsFile: hosts.knownHostsFile, resolveNode: () => undefined });
  const daemon = await startDaemon(
    {
      jobsDir,
      nodesDir,
      dbPath: join(dir, `fanout-${n}.sqlite`),
      listen: null,
      logLevel: 'error',
      knownHostsFile: hosts.knownHostsFile,
    },
    { executor: new ExecutorRegistry({ ssh, local: new LocalExecutor({}) }) },
  );
  return daemon;
}

/** Fire the job and wait until every run is final and recorded. */
async function fire(daemon: Daemon, expected: number): Promise<void> {
  const { runIds } = await daemon.control.runJob('fanout', {});
  if (runIds.length !== expected) throw new Error(`bench: expected ${expected} runs, got ${runIds.length}`);
  const runs = await Promise.all(runIds.map((id) => daemon.control.waitForRun(id)));
  const bad = runs.filter((r) => r.status !== 'succeeded');
  if (bad.length > 0)
    throw new Error(`bench: ${bad.length} daemon runs failed, e.g. ${bad[0]!.status}: ${bad[0]!.error}`);
}

export async function daemonRows(hosts: SshTestHosts, runs: number, repeat: Repeat): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'distcron-fanout-daemon-'));
  const n = hosts.hosts.length;
  let count = 0;
  try {
    const cold = await repeat('distcron daemon cold (fire → all recorded)', runs, async () => {
      const daemon = await start(dir, hosts, count++);
      try {
        return await time(() => fire(daemon, n));
      } finally {
        await daemon.close();
      }
    });
    const daemon = await start(dir, hosts, count++);
    try {
      await fire(daemon, n);
      const warm = await repeat('distcron daemon warm (pooled)', runs, () => time(() => fire(daemon, n)));
      const rssMb = process.memoryUsage().rss / 2 ** 20;
      warm.note = `bench process RSS ${rssMb.toFixed(0)} MB with ${n} pooled connections`;
      return [warm, cold];
    } finally {
      await daemon.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
