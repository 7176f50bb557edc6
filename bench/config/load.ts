/**
 * Config layer at scale: loadConfig over N small job files against a bare read+JSON.parse
 * baseline, then the watcher's cost per change and per safety rescan.
 * Run: node --import tsx bench/config/load.ts [N=100000]
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigWatcher, loadConfig } from '../../src/config/index.js';

const N = Number(process.argv[2] ?? 100_000);
const RUNS = 3;
const root = mkdtempSync(join(tmpdir(), 'distcron-bench-config-'));
const jobsDir = join(root, 'jobs.d');
const nodesDir = join(root, 'nodes.d');

function jobBody(k: number): object {
  const schedules = [
    '@every 10m',
    { cron: `${k % 60} 3 * * *`, timezone: 'Europe/Berlin' },
    { fuzzy: 'daily' },
    '*/5 * * * *',
  ];
  return {
    description: `job ${k}`,
    owners: [{ name: 'Ops', email_address: 'ops@example.com' }],
    policy: { select: 'any', roles: ['web'] },
    schedule: schedules[k % schedules.length],
    command: ['/bin/echo', String(k)],
    timeout: '5m',
    tags: ['bench'],
  };
}

function generate(): string[] {
  mkdirSync(nodesDir, { recursive: true });
  for (let i = 0; i < 10; i++)
    writeFileSync(join(nodesDir, `n${i}.json`), JSON.stringify({ roles: ['web'], connection_type: 'local' }));
  const files: string[] = [];
  for (let k = 0; k < N; k++) {
    const dir = join(jobsDir, `d${Math.floor(k / 1000)}`);
    if (k % 1000 === 0) mkdirSync(dir, { recursive: true });
    files.push(join(dir, `job${k}.json`));
    writeFileSync(files[k]!, JSON.stringify(jobBody(k), null, 2));
  }
  return files;
}

interface Sample {
  wallMs: number;
  cpuMs: number;
}

async function measure(fn: () => unknown): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const cpu = process.cpuUsage(cpu0);
  return { wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 };
}

function median(samples: Sample[]): Sample {
  const pick = (key: keyof Sample) =>
    [...samples].map((s) => s[key]).sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;
  return { wallMs: pick('wallMs'), cpuMs: pick('cpuMs') };
}

async function medianOf(runs: number, fn: () => unknown): Promise<Sample> {
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) samples.push(await measure(fn));
  return median(samples);
}

function baseline(): void {
  for (const d of readdirSync(jobsDir))
    for (const f of readdirSync(join(jobsDir, d))) JSON.parse(readFileSync(join(jobsDir, d, f), 'utf8'));
}

async function changeLatency(watcher: ConfigWatcher, file: string, k: number): Promise<Sample> {
  return measure(
    () =>
      new Promise<void>((resolve) => {
        watcher.once('change', () => resolve());
        writeFileSync(file, JSON.stringify({ ...jobBody(k), description: `changed ${performance.now()}` }));
      }),
  );
}

async function main(): Promise<void> {
  const files = generate();
  const opts = { jobsDir, nodesDir, defaultTimezone: 'UTC' };
  const base = await medianOf(RUNS, baseline);
  let jobs = 0;
  const load = await medianOf(RUNS, async () => (jobs = (await loadConfig(opts)).jobs.size));
  const watcher = new ConfigWatcher({ ...opts, rescanIntervalMs: 3_600_000 });
  const start = await measure(() => watcher.start());
  const changes: Sample[] = [];
  for (let i = 0; i < 5; i++) changes.push(await changeLatency(watcher, files[i * 7]!, i * 7));
  const rescan = await medianOf(RUNS, () => watcher.rescan());
  const reload = await measure(() => watcher.reloadAll());
  watcher.close();
  const rows: [string, Sample][] = [
    ['baseline: readFileSync + JSON.parse', base],
    ['loadConfig', load],
    ['ConfigWatcher.start', start],
    ['one file changed → change event', median(changes)],
    ['safety rescan (stat only)', rescan],
    ['reloadAll (SIGHUP)', reload],
  ];
  console.log(
    `config bench: ${N} job files, ${jobs} loaded; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log('| step | median wall ms | median CPU ms | wall vs baseline |');
  console.log('|---|---:|---:|---:|');
  for (const [name, s] of rows)
    console.log(
      `| ${name} | ${s.wallMs.toFixed(0)} | ${s.cpuMs.toFixed(0)} | ${(s.wallMs / base.wallMs).toFixed(2)} |`,
    );
}

// The watcher neither holds the process open (non-persistent fs.watch, unref'd timers), so the bench does.
const keepAlive = setInterval(() => undefined, 1_000);
main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    clearInterval(keepAlive);
    rmSync(root, { recursive: true, force: true });
  });
