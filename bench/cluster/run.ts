/**
 * Cluster benchmark (issue 16). Not a test: it prints tables and asserts nothing.
 *
 *   npx tsx bench/cluster/run.ts [--only fanout,fires,takeover] [--hosts 200] [--runs 5]
 *        [--members 1,3] [--stores sqlite,postgres] [--jobs 200] [--window 15] [--kills 10]
 *
 * fanout:   `true` on every host through an `all` job: distcron on SQLite and on PostgreSQL with
 *           1 and 3 members, warm and cold, beside the bare-ssh2 floor and parallel-ssh (rounds
 *           interleaved, medians). Run it with --hosts 200 and with --hosts 1000.
 * fires:    --jobs jobs every second on 1, 2 and 3 members, local `true` and the sshd hosts.
 * takeover: three members with the default lease; the leader killed --kills times.
 *
 * Daemons are the built ones (`npm run build` first), as separate processes; PostgreSQL is the
 * test harness's (initdb in a temp dir); needs root, openssh-server, postgresql, pssh and
 * `ulimit -n` well above 8 × hosts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TestPostgres } from '../../test/harness/postgres.js';
import { SshTestHosts } from '../../test/harness/sshd.js';
import { median, renderTable, type Row } from '../fanout/stats.js';
import type { Scenario } from '../fanout/scenarios.js';
import { ExternalTools } from '../fanout/tools.js';
import { FLOOR_COLD, FLOOR_WARM, PSSH, fanoutScenarios, writeFanoutConfig, type Store } from './fanout.js';
import { measureFires, measureFloor, renderFires, writeFiresConfig, type FireRow } from './fires.js';
import { measureTakeovers, writeTakeoverConfig } from './takeover.js';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: 'fanout,fires,takeover' },
    hosts: { type: 'string', default: '200' },
    runs: { type: 'string', default: '5' },
    members: { type: 'string', default: '1,3' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    jobs: { type: 'string', default: '200' },
    window: { type: 'string', default: '15' },
    kills: { type: 'string', default: '10' },
  },
});
const only = new Set(args.only!.split(','));
const dir = mkdtempSync(join(tmpdir(), 'distcron-bench-cluster-'));
const log = (msg: string) => process.stderr.write(`[cluster] ${msg}\n`);

function stores(pg: TestPostgres): Store[] {
  let n = 0;
  const all: Store[] = [
    { label: 'SQLite', fresh: () => join(dir, `db-${n++}.sqlite`) },
    { label: 'PostgreSQL', fresh: () => pg.url(pg.createDatabase('bench')) },
  ];
  const wanted = args.stores!.split(',');
  return all.filter((s) => wanted.some((w) => s.label.toLowerCase().startsWith(w)));
}

async function measure(selected: Scenario[], runs: number): Promise<Row[]> {
  const samples = new Map<Scenario, number[]>(selected.map((s) => [s, []]));
  try {
    for (const s of selected) await s.prepare?.();
    for (let i = 0; i < runs; i++)
      for (const s of selected) {
        const seconds = await s.round();
        samples.get(s)!.push(seconds);
        log(`round ${i + 1}/${runs} ${s.name}: ${seconds.toFixed(3)} s`);
        await new Promise((r) => setTimeout(r, 500));
      }
  } finally {
    for (const s of selected) await s.dispose?.();
  }
  return selected.map((s) => ({ name: s.name, samples: samples.get(s)!, note: s.note?.() }));
}

async function fanout(pg: TestPostgres, hosts: SshTestHosts): Promise<string> {
  const tools = new ExternalTools(hosts);
  const config = writeFanoutConfig(join(dir, 'fanout'), hosts);
  const sizes = args.members!.split(',').map(Number);
  const rows = stores(pg).flatMap((store) =>
    sizes.filter((m) => m === 1 || store.label === 'PostgreSQL').map((members) => ({ store, members })),
  );
  try {
    const measured = await measure(fanoutScenarios(hosts, tools, config, rows), Number(args.runs));
    const table = renderTable(measured, { warmFloor: FLOOR_WARM, coldFloor: FLOOR_COLD, pssh: PSSH });
    return `fan-out of \`true\` to ${hosts.hosts.length} loopback sshd hosts, wall seconds, ${args.runs} interleaved rounds\n\n${table}\n\n${storeRatios(measured)}`;
  } finally {
    tools.close();
  }
}

/** PostgreSQL ÷ SQLite for each member count and temperature present. */
function storeRatios(rows: Row[]): string {
  const med = new Map(rows.map((r) => [r.name, median(r.samples)]));
  const lines: string[] = [];
  for (const temp of ['warm', 'cold']) {
    const sqlite = med.get(`distcron SQLite, 1 member ${temp}`);
    const pg = med.get(`distcron PostgreSQL, 1 member ${temp}`);
    if (sqlite && pg) lines.push(`PostgreSQL ÷ SQLite, 1 member, ${temp}: ${(pg / sqlite).toFixed(2)}×`);
  }
  return lines.join('\n');
}

async function fires(pg: TestPostgres, hosts: SshTestHosts): Promise<string> {
  const jobs = Number(args.jobs);
  const windowS = Number(args.window);
  const rows: FireRow[] = [];
  for (const [label, nodes] of [
    ['local true', null],
    [`${hosts.hosts.length} sshd hosts`, hosts],
  ] as const) {
    const floorPerS = await measureFloor(nodes, windowS * 1000);
    log(`${label}: floor ${floorPerS.toFixed(0)} runs/s`);
    const timing = { warmupS: 8, windowS, floorPerS };
    const config = writeFiresConfig(join(dir, `fires-${rows.length}`), jobs, nodes);
    const base = { ...config, knownHostsFile: hosts.knownHostsFile };
    rows.push(
      await measureFires(
        `${label}, SQLite, 1 member`,
        { ...base, db: join(dir, `fires-${rows.length}.sqlite`) },
        1,
        timing,
      ),
    );
    for (const size of [1, 2, 3]) {
      const name = `${label}, PostgreSQL, ${size} member${size > 1 ? 's' : ''}`;
      rows.push(await measureFires(name, { ...base, db: pg.url(pg.createDatabase('fires')) }, size, timing));
      log(`${name}: ${rows.at(-1)!.executedPerS.toFixed(0)} executed/s`);
    }
  }
  return `fire rate over a ${windowS} s window after 8 s of warm-up; floor: bare spawn or bare ssh2 on open connections\n\n${renderFires(rows, jobs)}`;
}

async function takeover(pg: TestPostgres): Promise<string> {
  const config = { ...writeTakeoverConfig(join(dir, 'takeover')), db: pg.url(pg.createDatabase('takeover')) };
  const ms = await measureTakeovers(config, Number(args.kills), log);
  const sorted = [...ms].sort((a, b) => a - b);
  return (
    `takeover after kill -9 of the leader (default lease: TTL 8 s, renew 2 s), ${ms.length} kills\n\n` +
    `median ${median(sorted).toFixed(0)} ms, min ${sorted[0]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms ` +
    `(each: ${ms.map((m) => m.toFixed(0)).join(', ')})`
  );
}

async function main(): Promise<void> {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  const pg = await TestPostgres.start();
  process.once('exit', () => pg.stop());
  const needHosts = only.has('fanout') || only.has('fires');
  const hosts = needHosts ? await SshTestHosts.start({ count: Number(args.hosts) }) : null;
  const out: string[] = [];
  try {
    if (only.has('fanout')) out.push(await fanout(pg, hosts!));
    if (only.has('fires')) out.push(await fires(pg, hosts!));
    if (only.has('takeover')) out.push(await takeover(pg));
  } finally {
    await hosts?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const load = execFileSync('/bin/cat', ['/proc/loadavg'], { encoding: 'utf8' }).trim();
  process.stdout.write(`\n${out.join('\n\n')}\n\n(loadavg at end: ${load})\n`);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
