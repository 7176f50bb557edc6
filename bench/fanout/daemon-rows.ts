/**
 * distcron daemon rows: an `all` job (`true`) on every host, from runJob() (the fire) until all
 * N runs are recorded final in SQLite. Cold = a fresh daemon (no pooled connections), warm =
 * one long-lived daemon. Also reports the process RSS with N pooled connections.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/log.js';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.js';
import type { SshTestHosts } from '../../test/harness/sshd.js';
import { BENCH_CONNECT_TIMEOUT_MS } from './executor-rows.js';
import { time } from './tools.js';

function writeConfig(dir: string, hosts: SshTestHosts): { jobsDir: string; nodesDir: string } {
  const jobsDir = join(dir, 'jobs.d');
  const nodesDir = join(dir, 'nodes.d');
  mkdirSync(jobsDir);
  mkdirSync(nodesDir);
  const job = {
    policy: { select: 'all', roles: ['fanout'] },
    schedule: '@manual',
    overlap: 'allow',
    command: ['true'],
  };
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

export class DaemonFanout {
  private readonly dir = mkdtempSync(join(tmpdir(), 'distcron-fanout-daemon-'));
  private readonly config: { jobsDir: string; nodesDir: string };
  private warm: Daemon | null = null;
  private started = 0;
  private rssMb: number | null = null;

  constructor(private readonly hosts: SshTestHosts) {
    this.config = writeConfig(this.dir, hosts);
  }

  async prepareWarm(): Promise<void> {
    this.warm = await this.start();
    await this.fire(this.warm);
  }

  async warmRound(): Promise<number> {
    const s = await time(() => this.fire(this.warm!));
    this.rssMb = process.memoryUsage().rss / 2 ** 20;
    return s;
  }

  async coldRound(): Promise<number> {
    const daemon = await this.start();
    try {
      return await time(() => this.fire(daemon));
    } finally {
      await daemon.close();
    }
  }

  rssNote(): string | undefined {
    if (this.rssMb === null) return undefined;
    return `bench process RSS ${this.rssMb.toFixed(0)} MB (holds every row's connections)`;
  }

  async close(): Promise<void> {
    await this.warm?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The daemon exactly as shipped: its own SSH executor (createExecutors), no test seam. */
  private async start(): Promise<Daemon> {
    return startDaemon(
      {
        ...this.config,
        dbPath: join(this.dir, `fanout-${this.started++}.sqlite`),
        listen: null,
        knownHostsFile: this.hosts.knownHostsFile,
        sshConnectTimeoutMs: BENCH_CONNECT_TIMEOUT_MS,
      },
      { logger: silentLogger() },
    );
  }

  /** Fire the job and wait until every run is final and recorded. */
  private async fire(daemon: Daemon): Promise<void> {
    const n = this.hosts.hosts.length;
    const { runIds } = await daemon.control.runJob('fanout', {});
    if (runIds.length !== n) throw new Error(`bench: expected ${n} runs, got ${runIds.length}`);
    const runs = await Promise.all(runIds.map((id) => daemon.control.waitForRun(id)));
    const bad = runs.filter((r) => r.status !== 'succeeded');
    if (bad.length > 0)
      throw new Error(`bench: ${bad.length} daemon runs failed, e.g. ${bad[0]!.status}: ${bad[0]!.error}`);
  }
}
