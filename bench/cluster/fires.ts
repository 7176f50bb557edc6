/**
 * Fire-rate rows of the cluster bench: J jobs firing every second (`true` on `any` host of a role)
 * on 1, 2 or 3 members; after a warm-up, a window of W seconds is read back from the store:
 * instants claimed per second, runs executed (finished) per second, and how late runs started.
 * Executing is bounded by the machine, so the rate is set beside a floor measured in the same run:
 * bare `child_process.spawn` of `true` (local), or bare ssh2 execs on open connections (sshd).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SshTestHosts } from '../../test/harness/sshd.js';
import { median } from '../fanout/stats.js';
import { BareSsh2 } from '../fanout/tools.js';
import { rssMib, startMember, stopMembers, storeReader } from './members.js';

export interface FireRow {
  name: string;
  claimedPerS: number;
  executedPerS: number;
  /** What the machine executes per second without distcron (see measureFloor). */
  floorPerS: number;
  lateP50Ms: number;
  lateP99Ms: number;
  note: string;
}

interface StartedRun {
  scheduled_at: string;
  started_at: string;
  member: string | null;
}

/** J jobs every second on `any` node of `role`; nodes: one local node, or the sshd hosts. */
export function writeFiresConfig(
  dir: string,
  jobs: number,
  hosts: SshTestHosts | null,
): { jobsDir: string; nodesDir: string } {
  const jobsDir = join(dir, 'jobs.d');
  const nodesDir = join(dir, 'nodes.d');
  mkdirSync(jobsDir, { recursive: true });
  mkdirSync(nodesDir, { recursive: true });
  for (let j = 0; j < jobs; j++)
    writeFileSync(
      join(jobsDir, `tick-${j}.json`),
      JSON.stringify({
        policy: { select: 'any', roles: ['fires'] },
        schedule: '* * * * * *',
        overlap: 'allow',
        catch_up: 'skip',
        command: ['true'],
      }),
    );
  if (!hosts)
    writeFileSync(
      join(nodesDir, 'local.json'),
      JSON.stringify({ roles: ['fires'], connection_type: 'local', max_concurrent_runs: 1000 }),
    );
  else
    for (const h of hosts.hosts)
      writeFileSync(
        join(nodesDir, `${h.name}.json`),
        JSON.stringify({
          roles: ['fires'],
          connection_type: 'ssh',
          connection_options: {
            ssh_host: `${h.address}:${hosts.port}`,
            ssh_user: hosts.user,
            ssh_private_key_file: hosts.clientKeyFile,
          },
        }),
      );
  return { jobsDir, nodesDir };
}

export async function measureFires(
  name: string,
  config: { jobsDir: string; nodesDir: string; db: string; knownHostsFile?: string },
  size: number,
  timing: { warmupS: number; windowS: number; floorPerS: number },
): Promise<FireRow> {
  const members = [];
  for (let i = 0; i < size; i++) members.push(await startMember(config));
  const reader = storeReader(config.db);
  try {
    await sleep(timing.warmupS * 1000);
    const from = new Date(Math.ceil(Date.now() / 1000) * 1000).toISOString();
    const until = new Date(Date.parse(from) + timing.windowS * 1000).toISOString();
    await sleep(Date.parse(until) - Date.now());
    const rss = members.map((m) => rssMib(m.child.pid!).toFixed(0)).join('/');
    // Read once the members have stopped: a busy member commits its finishes seconds after they
    // happen, and a read at the window's end missed most of them (counted 10 a second of 55).
    await stopMembers(members);
    const count = async (column: string) => {
      const sql = `SELECT count(*) AS n FROM runs WHERE ${column} >= $1 AND ${column} < $2`;
      return Number((await reader.query<{ n: string }>(sql, [from, until]))[0]!.n) / timing.windowS;
    };
    const started = await reader.query<StartedRun>(
      'SELECT scheduled_at, started_at, member FROM runs WHERE started_at >= $1 AND started_at < $2',
      [from, until],
    );
    const rates = { claimed: await count('scheduled_at'), executed: await count('finished_at') };
    return summarize(name, rates, timing.floorPerS, started, rss);
  } finally {
    await stopMembers(members);
    await reader.close();
  }
}

function summarize(
  name: string,
  rates: { claimed: number; executed: number },
  floorPerS: number,
  started: StartedRun[],
  rss: string,
): FireRow {
  const late = started
    .map((r) => Date.parse(r.started_at) - Date.parse(r.scheduled_at))
    .sort((a, b) => a - b);
  const byMember = new Map<string, number>();
  for (const r of started) byMember.set(r.member ?? '-', (byMember.get(r.member ?? '-') ?? 0) + 1);
  const spread = [...byMember].map(([m, n]) => `${m}: ${n}`).join(', ');
  return {
    name,
    claimedPerS: rates.claimed,
    executedPerS: rates.executed,
    floorPerS,
    lateP50Ms: late.length ? median(late) : NaN,
    lateP99Ms: late.length ? late[Math.min(late.length - 1, Math.floor(late.length * 0.99))]! : NaN,
    note: `started per member ${spread}; RSS MiB ${rss}`,
  };
}

/**
 * Runs of `true` per second without distcron, for `ms`: spawned locally 64 at a time, or (with
 * hosts) one after another on each host's open ssh2 connection.
 */
export async function measureFloor(hosts: SshTestHosts | null, ms: number): Promise<number> {
  if (!hosts) return spawnRate(64, ms);
  const bare = new BareSsh2(hosts);
  try {
    await bare.connectAll();
    return await bare.execRate(ms);
  } finally {
    bare.close();
  }
}

async function spawnRate(concurrency: number, ms: number): Promise<number> {
  const until = Date.now() + ms;
  let done = 0;
  const loop = async () => {
    for (; Date.now() < until; done++)
      await new Promise((resolve, reject) =>
        spawn('true', [], { stdio: 'ignore', detached: true }).once('exit', resolve).once('error', reject),
      );
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return done / (ms / 1000);
}

export function renderFires(rows: FireRow[], demanded: number): string {
  const header = [
    '',
    'claimed/s',
    'executed/s',
    'floor/s',
    'executed ÷ floor',
    'start late p50 ms',
    'p99 ms',
    'note',
  ];
  const body = rows.map((r) => [
    r.name,
    r.claimedPerS.toFixed(0),
    r.executedPerS.toFixed(0),
    r.floorPerS.toFixed(0),
    `${(r.executedPerS / Math.min(r.floorPerS, demanded)).toFixed(2)}`,
    r.lateP50Ms.toFixed(0),
    r.lateP99Ms.toFixed(0),
    r.note,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  const sep = '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|';
  return [`${demanded} fires/s demanded`, '', line(header), sep, ...body.map(line)].join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
