/**
 * Fan-out benchmark (issue 3 item 9): `true` on N loopback sshd hosts (default 200), each row
 * the median of --runs rounds (default 5). Run: `npx tsx bench/fanout/run.ts [--hosts 200]
 * [--runs 5] [--only floor,pssh,ansible,executor,daemon]`. Needs root, openssh-server, pssh,
 * ansible, and `ulimit -n` well above 4 × hosts.
 */
import { execFileSync } from 'node:child_process';
import { SshTestHosts } from '../../test/harness/sshd.js';
import { executorRound, newExecutor } from './executor-rows.js';
import { renderTable, type Row } from './stats.js';
import { BareSsh2, ExternalTools, time } from './tools.js';
import { daemonRows } from './daemon-rows.js';

interface Args {
  hosts: number;
  runs: number;
  only: Set<string> | null;
}

function parseArgs(argv: string[]): Args {
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

async function repeat(name: string, runs: number, round: () => Promise<number>, note?: string): Promise<Row> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    samples.push(await round());
    log(`${name} #${i + 1}: ${samples.at(-1)!.toFixed(3)} s`);
    await settle();
  }
  return { name, samples, note };
}

/** Lets sshd finish tearing down the last round's connections before the next one. */
const settle = () => new Promise((r) => setTimeout(r, 500));

async function floorRows(hosts: SshTestHosts, runs: number): Promise<Row[]> {
  const cold = await repeat('bare ssh2 cold (connect + exec)', runs, async () => {
    const bare = new BareSsh2(hosts);
    const s = await time(async () => {
      await bare.connectAll();
      await bare.execAll();
    });
    bare.close();
    return s;
  });
  const bare = new BareSsh2(hosts);
  await bare.connectAll();
  const warm = await repeat('bare ssh2 warm (open connections)', runs, () => time(() => bare.execAll()));
  bare.close();
  return [warm, cold];
}

async function toolRows(hosts: SshTestHosts, runs: number, only: Args['only']): Promise<Row[]> {
  const tools = new ExternalTools(hosts);
  const rows: Row[] = [];
  try {
    if (!only || only.has('pssh')) {
      rows.push(
        await repeat('parallel-ssh -p N (OpenSSH default kex)', runs, () => time(() => tools.pssh())),
      );
      rows.push(
        await repeat('parallel-ssh -p N, curve25519-sha256', runs, () =>
          time(() => tools.pssh('curve25519-sha256')),
        ),
      );
    }
    if (!only || only.has('ansible'))
      rows.push(await repeat('ansible -m raw -f N', runs, () => time(() => tools.ansibleRaw())));
  } finally {
    tools.close();
  }
  return rows;
}

async function executorRows(hosts: SshTestHosts, runs: number): Promise<Row[]> {
  const cold = await repeat('SshExecutor cold (new executor)', runs, async () => {
    const executor = newExecutor(hosts);
    const s = await time(() => executorRound(executor, hosts));
    await executor.close();
    return s;
  });
  const executor = newExecutor(hosts);
  await executorRound(executor, hosts);
  const warm = await repeat('SshExecutor warm (pooled)', runs, () =>
    time(() => executorRound(executor, hosts)),
  );
  await executor.close();
  return [warm, cold];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const fdLimit = Number(execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  if (fdLimit < args.hosts * 4)
    log(`WARNING: ulimit -n is ${fdLimit}; raise it (e.g. ulimit -n 65536) for ${args.hosts} hosts`);
  log(`starting ${args.hosts} sshd test hosts`);
  const hosts = await SshTestHosts.start({ count: args.hosts });
  const want = (k: string) => !args.only || args.only.has(k);
  const rows: Row[] = [];
  try {
    if (want('floor')) rows.push(...(await floorRows(hosts, args.runs)));
    if (want('executor')) rows.push(...(await executorRows(hosts, args.runs)));
    if (want('daemon')) rows.push(...(await daemonRows(hosts, args.runs, repeat)));
    if (want('pssh') || want('ansible')) rows.push(...(await toolRows(hosts, args.runs, args.only)));
  } finally {
    await hosts.close();
  }
  const table = renderTable(rows, {
    warmFloor: 'bare ssh2 warm (open connections)',
    coldFloor: 'bare ssh2 cold (connect + exec)',
    pssh: 'parallel-ssh -p N, curve25519-sha256',
  });
  process.stdout.write(
    `\nfan-out of \`true\` to ${args.hosts} loopback sshd hosts, wall seconds, ${args.runs} rounds each\n\n${table}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
