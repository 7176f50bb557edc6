/**
 * Fire-rate rows of the cluster bench: J jobs firing every second (`true` on `any` host of a role)
 * on 1, 2 or 3 members; after a warm-up, a window of W seconds is read back from the store:
 * instants claimed per second, runs finished per second, and how late runs started.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SshTestHosts } from '../../test/harness/sshd.js';
import { median } from '../fanout/stats.js';
import { rssMib, startMember, stopMembers, storeReader } from './members.js';

export interface FireRow {
  name: string;
  claimedPerS: number;
  finishedPerS: number;
  lateP50Ms: number;
  lateP99Ms: number;
  note: string;
}

interface RunTimes {
  scheduled_at: string;
  started_at: string | null;
  finished_at: string | null;
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
  timing: { warmupS: number; windowS: number },
): Promise<FireRow> {
  const members = [];
  for (let i = 0; i < size; i++) members.push(await startMember(config));
  const reader = storeReader(config.db);
  try {
    await sleep(timing.warmupS * 1000);
    const from = new Date(Math.ceil(Date.now() / 1000) * 1000);
    const until = new Date(from.getTime() + timing.windowS * 1000);
    await sleep(until.getTime() - Date.now() + 5_000);
    const rss = members.map((m) => rssMib(m.child.pid!).toFixed(0)).join('/');
    const runs = await reader.query<RunTimes>(
      'SELECT scheduled_at, started_at, finished_at, member FROM runs WHERE scheduled_at >= $1 AND scheduled_at < $2',
      [from.toISOString(), until.toISOString()],
    );
    return summarize(name, runs, timing.windowS, until, rss);
  } finally {
    await stopMembers(members);
    await reader.close();
  }
}

function summarize(name: string, runs: RunTimes[], windowS: number, until: Date, rss: string): FireRow {
  const finished = runs.filter((r) => r.finished_at !== null && r.finished_at < until.toISOString());
  const late = runs
    .filter((r) => r.started_at !== null)
    .map((r) => Date.parse(r.started_at!) - Date.parse(r.scheduled_at))
    .sort((a, b) => a - b);
  const byMember = new Map<string, number>();
  for (const r of runs) byMember.set(r.member ?? '-', (byMember.get(r.member ?? '-') ?? 0) + 1);
  const spread = [...byMember].map(([m, n]) => `${m}: ${n}`).join(', ');
  return {
    name,
    claimedPerS: runs.length / windowS,
    finishedPerS: finished.length / windowS,
    lateP50Ms: late.length ? median(late) : NaN,
    lateP99Ms: late.length ? late[Math.min(late.length - 1, Math.floor(late.length * 0.99))]! : NaN,
    note: `runs per member ${spread}; RSS MiB ${rss}`,
  };
}

export function renderFires(rows: FireRow[], demanded: number): string {
  const header = ['', 'claimed/s', 'finished/s', 'late p50 ms', 'late p99 ms', 'note'];
  const body = rows.map((r) => [
    r.name,
    r.claimedPerS.toFixed(0),
    r.finishedPerS.toFixed(0),
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
