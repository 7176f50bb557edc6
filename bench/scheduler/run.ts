/**
 * bench/scheduler — start-up, memory, idle CPU and per-fire cost of the daemon at 1,000 and
 * 100,000 jobs, side by side with Debian cron holding the same number of entries.
 *
 * The cost of a fire is measured twice: a probe job running `true` on the local node, and one
 * running it on a loopback sshd test host. A local run forks the daemon, and fork copies its
 * page tables, so that cost follows the daemon's memory (see spawn-cost.ts); an SSH run reuses
 * a pooled connection, so its cost is distcron's own scheduling, recording and ssh2 work.
 *
 *   npm run build && npx tsx bench/scheduler/run.ts [--sizes 1000,100000] [--idle 60] [--repeat 3]
 *                                                   [--no-ssh]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SshTestHosts, sshdMissingReason } from '../../test/harness/sshd.js';
import { generateCrontab, generateJobs } from './generate.js';
import { cpuSeconds, median, percentile, rssMiB, sleep } from './proc.js';

const args = new Map(process.argv.slice(2).map((a, i, all) => [a, all[i + 1] ?? '']));
const SIZES = (args.get('--sizes') || '1000,100000').split(',').map(Number);
const IDLE_S = Number(args.get('--idle') || 60);
const REPEAT = Number(args.get('--repeat') || 3);
const PROBE_S = Number(args.get('--probe') || 20);
/** After loading 100k files V8 runs a one-off memory-reducing GC (~60 s in): measure the steady state after it. */
const SETTLE_S = Number(args.get('--settle') || 90);
const CLI = join(process.cwd(), 'dist/cli/main.js');
const WITH_SSH = !process.argv.includes('--no-ssh');

interface Started {
  child: ChildProcess;
  readyMs: number;
}

async function startDaemon(root: string, db: string, extra: string[] = []): Promise<Started> {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      CLI,
      'daemon',
      '--jobs-dir',
      join(root, 'jobs.d'),
      '--nodes-dir',
      join(root, 'nodes.d'),
      '--db',
      db,
      '--listen',
      'off',
      '--timezone',
      'UTC',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const readyMs = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      if (buf.includes('"msg":"distcron ready"')) resolve(performance.now() - t0);
      if (buf.length > 1e6) buf = buf.slice(-1000);
    });
    child.on('exit', (code) => reject(new Error(`daemon exited with ${code}`)));
  });
  return { child, readyMs };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Where the probe job runs: nowhere (start-up rows), the local node, or an sshd test host. */
type Probe = 'none' | 'local' | SshTestHosts;

function setup(size: number, probeOn: Probe): string {
  const root = mkdtempSync(join(tmpdir(), 'distcron-bench-'));
  mkdirSync(join(root, 'nodes.d'));
  writeFileSync(
    join(root, 'nodes.d', 'local.json'),
    JSON.stringify({ roles: ['local'], connection_type: 'local' }),
  );
  generateJobs(join(root, 'jobs.d'), size);
  if (probeOn !== 'none') {
    const role = probeOn === 'local' ? 'local' : 'probe-ssh';
    if (probeOn !== 'local') writeSshNode(root, probeOn);
    const probe = {
      policy: { select: 'any', roles: [role] },
      schedule: '* * * * * *',
      command: ['true'],
      overlap: 'allow',
    };
    writeFileSync(join(root, 'jobs.d', 'probe.json'), JSON.stringify(probe));
  }
  return root;
}

function writeSshNode(root: string, hosts: SshTestHosts): void {
  const node = {
    roles: ['probe-ssh'],
    connection_type: 'ssh',
    connection_options: {
      ssh_host: hosts.hostPort(0),
      ssh_user: hosts.user,
      ssh_private_key_file: hosts.clientKeyFile,
    },
  };
  writeFileSync(join(root, 'nodes.d', 'probe-host.json'), JSON.stringify(node));
}

async function measureStartup(size: number) {
  const root = setup(size, 'none');
  const ready: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const db = join(root, `db-${i}.sqlite`);
    const { child, readyMs } = await startDaemon(root, db);
    ready.push(readyMs);
    await sleep(3000);
    rss.push(rssMiB(child.pid!));
    await stop(child);
  }
  // Idle CPU on a warm database (the common restart case).
  const { child } = await startDaemon(root, join(root, 'db-0.sqlite'));
  const settleFrom = cpuSeconds(child.pid!);
  await sleep(SETTLE_S * 1000);
  const settleCpu = cpuSeconds(child.pid!) - settleFrom;
  const before = cpuSeconds(child.pid!);
  await sleep(IDLE_S * 1000);
  const idlePct = ((cpuSeconds(child.pid!) - before) / IDLE_S) * 100;
  await stop(child);
  rmSync(root, { recursive: true, force: true });
  return {
    ready: median(ready),
    readyMin: Math.min(...ready),
    readyMax: Math.max(...ready),
    rss: median(rss),
    idlePct,
    settleCpu,
  };
}

async function measureFireCost(size: number, idlePct: number, probeOn: 'local' | SshTestHosts) {
  const root = setup(size, probeOn);
  const db = join(root, 'probe.sqlite');
  const extra = probeOn === 'local' ? [] : ['--known-hosts', probeOn.knownHostsFile];
  const { child } = await startDaemon(root, db, extra);
  await sleep(SETTLE_S * 1000);
  const t0 = Date.now();
  const before = cpuSeconds(child.pid!);
  await sleep(PROBE_S * 1000);
  const cpu = cpuSeconds(child.pid!) - before - (idlePct / 100) * PROBE_S;
  await stop(child);
  const sqlite = new Database(db, { readonly: true });
  const rows = sqlite
    .prepare("SELECT scheduled_at, started_at FROM runs WHERE job = 'probe' AND started_at >= ?")
    .all(new Date(t0).toISOString()) as { scheduled_at: string; started_at: string }[];
  sqlite.close();
  rmSync(root, { recursive: true, force: true });
  const lateness = rows.map((r) => Date.parse(r.started_at) - Date.parse(r.scheduled_at));
  return {
    fires: rows.length,
    cpuMsPerFire: (cpu * 1000) / Math.max(1, rows.length),
    lateP50: median(lateness),
    lateP99: percentile(lateness, 99),
  };
}

async function measureCron(size: number) {
  if (!existsSync('/usr/sbin/cron') || process.getuid?.() !== 0) return null;
  const file = '/etc/cron.d/distcron-bench';
  generateCrontab(file, size);
  try {
    execFileSync('pkill', ['-x', 'cron'], { stdio: 'ignore' });
  } catch {
    // not running
  }
  const t0 = performance.now();
  const child = spawn('/usr/sbin/cron', ['-f'], { stdio: 'ignore' });
  await sleep(2000);
  const startMs = performance.now() - t0;
  const rss = rssMiB(child.pid!);
  const before = cpuSeconds(child.pid!);
  await sleep(IDLE_S * 1000);
  const idlePct = ((cpuSeconds(child.pid!) - before) / IDLE_S) * 100;
  child.kill('SIGTERM');
  rmSync(file, { force: true });
  return { startMs, rss, idlePct };
}

const fmt = (n: number, d = 1) => n.toFixed(d);

async function main() {
  if (!existsSync(CLI)) execFileSync('npm', ['run', 'build'], { stdio: 'inherit' });
  const rows: string[][] = [];
  const perFire: Record<number, number> = {};
  const perSshFire: Record<number, number> = {};
  const ssh = await sshHosts();
  for (const size of SIZES) {
    const s = await measureStartup(size);
    const f = await measureFireCost(size, s.idlePct, 'local');
    const g = ssh ? await measureFireCost(size, s.idlePct, ssh) : null;
    perFire[size] = f.cpuMsPerFire;
    if (g) perSshFire[size] = g.cpuMsPerFire;
    rows.push([
      `distcron ${size} jobs`,
      `${fmt(s.ready / 1000, 2)} (${fmt(s.readyMin / 1000, 2)}–${fmt(s.readyMax / 1000, 2)})`,
      fmt(s.rss, 0),
      fmt(s.idlePct, 2),
      fmt(s.settleCpu, 1),
      fmt(f.cpuMsPerFire, 2),
      `${f.lateP50}/${f.lateP99}`,
      String(f.fires),
      g ? fmt(g.cpuMsPerFire, 2) : '-',
      g ? `${g.lateP50}/${g.lateP99}` : '-',
      g ? String(g.fires) : '-',
    ]);
    const c = await measureCron(size);
    if (c)
      rows.push([
        `Debian cron ${size} entries`,
        `(loads in <${fmt(c.startMs / 1000, 1)})`,
        fmt(c.rss, 0),
        fmt(c.idlePct, 2),
        '-',
        '-',
        '-',
        '-',
        '-',
        '-',
        '-',
      ]);
    process.stderr.write(`done: ${size}\n`);
  }
  const header = [
    'what',
    'ready s, median (min–max)',
    'RSS MiB',
    `idle CPU % of a core (${IDLE_S}s)`,
    `CPU s in the ${SETTLE_S}s after ready`,
    'CPU ms per local fire',
    'lateness ms p50/p99',
    'fires',
    'CPU ms per SSH fire',
    'SSH lateness ms p50/p99',
    'SSH fires',
  ];
  printTable(header, rows);
  const [small, large] = SIZES;
  if (small && large) {
    console.log(
      `\nper-fire CPU ratio ${large}/${small} jobs: local ${fmt(perFire[large]! / perFire[small]!, 2)}x` +
        (ssh ? `, SSH ${fmt(perSshFire[large]! / perSshFire[small]!, 2)}x` : '') +
        ' (1.0 = does not grow with job count; a local fire forks the daemon, see spawn-cost.ts)',
    );
  }
  await ssh?.close();
  console.log(`targets: 100,000 jobs ready < 5 s, RSS < 500 MiB, idle CPU < 2 % of a core`);
}

async function sshHosts(): Promise<SshTestHosts | null> {
  if (!WITH_SSH) return null;
  const missing = sshdMissingReason();
  if (missing) {
    console.log(`(no SSH probe: ${missing})`);
    return null;
  }
  return SshTestHosts.start({ count: 1 });
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

await main();
