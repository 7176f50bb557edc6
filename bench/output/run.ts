/**
 * Live output benchmark (issue #18) — not a test. A real `distcron daemon` process, a local node
 * and a real sshd host; SSE followers on this machine (same clock as the commands).
 *
 *   npx tsx bench/output/run.ts [--lines 1000] [--interval-ms 10] [--mb 50]
 *
 * Follow latency: a command prints N lines, each with the time (ns) it was printed; the latency
 * is the SSE event's arrival minus that time. CPU per MB: the daemon process's user+system CPU
 * (from /proc) while a command prints M MB of text to one follower, divided by M.
 */
import { readFileSync } from 'node:fs';
import { DaemonEnv } from '../../test/harness/daemon-env.js';
import { DaemonProcess, waitFor } from '../../test/harness/daemon-process.js';
import { freePort } from '../../test/harness/ports.js';
import { openSse } from '../../test/harness/sse.js';
import { SshTestHosts } from '../../test/harness/sshd.js';

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const LINES = flag('lines', 1000);
const INTERVAL_MS = flag('interval-ms', 10);
const MB = flag('mb', 50);
const TICK_SEC = (INTERVAL_MS / 1000).toFixed(3);

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const env = new DaemonEnv();
  const hosts = await SshTestHosts.start({ count: 1 });
  const port = await freePort();
  env.writeNode('local', { roles: ['local'], connection_type: 'local', max_concurrent_runs: 4 });
  env.writeNode('h0', {
    roles: ['remote'],
    connection_type: 'ssh',
    connection_options: {
      ssh_host: hosts.hostPort(0),
      ssh_user: hosts.user,
      ssh_private_key_file: hosts.clientKeyFile,
    },
  });
  const lines = `for i in $(seq 1 ${LINES}); do echo "line $i $(date +%s%N)"; sleep ${TICK_SEC}; done`;
  const flood = `head -c ${MB * 1024 * 768} /dev/urandom | base64`;
  for (const [where, node] of [
    ['local', 'local'],
    ['ssh', 'h0'],
  ]) {
    env.writeJob(`lines-${where}`, { policy: { select: 'any', hosts: [node] }, shell_command: lines });
    env.writeJob(`flood-${where}`, { policy: { select: 'any', hosts: [node] }, shell_command: flood });
  }
  const api = `http://127.0.0.1:${port}`;
  const daemon = new DaemonProcess([
    '--jobs-dir',
    env.jobsDir,
    '--nodes-dir',
    env.nodesDir,
    '--db',
    env.dbPath,
    '--listen',
    `127.0.0.1:${port}`,
    '--known-hosts',
    hosts.knownHostsFile,
    '--log-level',
    'warn',
  ]);
  const pid = daemon.child.pid!;
  const post = async (job: string): Promise<string> => {
    const res = await fetch(`${api}/api/v1/jobs/${job}/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    return ((await res.json()) as { run_ids: string[] }).run_ids[0]!;
  };
  try {
    await waitFor(
      'the daemon API',
      async () => (await fetch(`${api}/healthz`).catch(() => null))?.ok,
      60_000,
    );
    const rows: string[][] = [];
    for (const where of ['local', 'ssh']) {
      const id = await post(`lines-${where}`);
      const lat: number[] = [];
      const sse = openSse(`${api}/api/v1/runs/${id}/output/stream?offset=0`, {
        onEvent: (e) => {
          if (e.event !== 'output') return;
          const now = process.hrtime.bigint() - HR_SKEW;
          for (const m of (JSON.parse(e.data) as { text: string }).text.matchAll(/line \d+ (\d{19})/g))
            lat.push(Number(now - BigInt(m[1]!)) / 1e6);
        },
      });
      await sse.closed;
      lat.sort((a, b) => a - b);
      const cpu0 = cpuMs(pid);
      const fid = await post(`flood-${where}`);
      let bytes = 0;
      let dropped = false;
      const flood = openSse(`${api}/api/v1/runs/${fid}/output/stream?offset=0`, {
        onEvent: (e) => {
          if (e.event === 'output') bytes += Buffer.byteLength((JSON.parse(e.data) as { text: string }).text);
          if (e.event === 'dropped') dropped = true;
        },
      });
      await flood.closed;
      const cpu = cpuMs(pid) - cpu0;
      const mb = bytes / 1024 / 1024;
      rows.push([
        where,
        String(lat.length),
        pct(lat, 50).toFixed(1),
        pct(lat, 99).toFixed(1),
        lat[lat.length - 1]!.toFixed(1),
        mb.toFixed(1),
        (cpu / mb).toFixed(1),
        dropped ? 'dropped (did not keep up)' : 'all',
      ]);
    }
    const head = [
      'transport',
      'lines',
      'p50 ms',
      'p99 ms',
      'max ms',
      'MB streamed',
      'daemon CPU ms/MB',
      'follower',
    ];
    console.log(head.join('\t'));
    for (const r of rows) console.log(r.join('\t'));
    console.log(`(a line every ${INTERVAL_MS} ms; target p99 < 100 ms)`);
  } finally {
    daemon.kill('SIGTERM');
    await daemon.exited;
    await hosts.close();
    await env.cleanup();
  }
}

/** hrtime → wall-clock nanoseconds (date +%s%N is wall-clock). */
const HR_SKEW = process.hrtime.bigint() - BigInt(Date.now()) * 1_000_000n;

await main();
