/**
 * Fan-out benchmark (issue 3 item 9): `true` on N loopback sshd hosts (default 200), each row
 * the median of --runs rounds (default 5), rounds interleaved across rows. Run:
 *   npx tsx bench/fanout/run.ts [--hosts 200] [--runs 5] [--only floor,executor,daemon,pssh,ansible]
 * Needs root, openssh-server, pssh, ansible, and `ulimit -n` well above 4 × hosts.
 */
import { execFileSync } from 'node:child_process';
import { SshTestHosts } from '../../test/harness/sshd.js';
import { ROW, scenarios, type Scenario } from './scenarios.js';
import { renderTable, type Row } from './stats.js';
import { ExternalTools } from './tools.js';

function parseArgs(argv: string[]): { hosts: number; runs: number; only: Set<string> | null } {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const only = get('--only');
  return {
    hosts: Number(get('--hosts') ?? 200),
    runs: Number(get('--runs') ?? 5),
    only: only ? new Set(only.split(',')) : null,
  };
}

const log = (msg: string) => process.stderr.write(`[fanout] ${msg}\n`);

/** Lets sshd finish tearing down the last round's connections before the next one. */
const settle = () => new Promise((r) => setTimeout(r, 500));

async function measure(selected: Scenario[], runs: number): Promise<Row[]> {
  const samples = new Map<Scenario, number[]>(selected.map((s) => [s, []]));
  for (const s of selected) await s.prepare?.();
  try {
    for (let i = 0; i < runs; i++) {
      for (const s of selected) {
        const seconds = await s.round();
        samples.get(s)!.push(seconds);
        log(`round ${i + 1}/${runs} ${s.name}: ${seconds.toFixed(3)} s`);
        await settle();
      }
    }
  } finally {
    for (const s of selected) await s.dispose?.();
  }
  return selected.map((s) => ({ name: s.name, samples: samples.get(s)!, note: s.note?.() }));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const fdLimit = Number(execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  if (fdLimit < args.hosts * 8)
    log(`WARNING: ulimit -n is ${fdLimit}; raise it (e.g. ulimit -n 65536) for ${args.hosts} hosts`);
  log(`starting ${args.hosts} sshd test hosts`);
  const hosts = await SshTestHosts.start({ count: args.hosts });
  const tools = new ExternalTools(hosts);
  let rows: Row[];
  try {
    const selected = scenarios(hosts, tools).filter((s) => !args.only || args.only.has(s.group));
    rows = await measure(selected, args.runs);
  } finally {
    tools.close();
    await hosts.close();
  }
  const table = renderTable(rows, {
    warmFloor: ROW.floorWarm,
    coldFloor: ROW.floorCold,
    pssh: ROW.psshCurve,
  });
  const load = execFileSync('/bin/cat', ['/proc/loadavg'], { encoding: 'utf8' }).trim();
  process.stdout.write(
    `\nfan-out of \`true\` to ${args.hosts} loopback sshd hosts, wall seconds, ${args.runs} interleaved rounds (loadavg at end: ${load})\n\n${table}\n`,
  );
}

// Exit through process.exit so the harness's exit hook stops every sshd it started.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
