/**
 * REST API benchmark (issue 4, item 9). Fills SQLite with 1,000,000 runs over 1,000 jobs and
 * writes 10,000 job files, starts the daemon as users run it (`node dist/cli/main.js daemon`,
 * built first, with its API on a loopback port) in a child process, and drives
 * 50 concurrent connections (autocannon) at four routes (one of them the run list spread over
 * every job). Four bare node:http servers answer the same requests as floors, so the table has
 * ratios: plain SQL (no cache), distcron's own store (its summary cache), the same answers
 * cached per URL (HTTP and the socket alone), and the store in several processes sharing the
 * port (node:cluster), which shows what more processes buy on this machine, where autocannon
 * shares the cores.
 *
 *   npx tsx bench/api/run.ts [--duration 10] [--rounds 3] [--connections 50] [--runs 1000000]
 *                            [--jobs 1000] [--job-files 10000] [--floor-processes 2]
 *                            [--dir /tmp/distcron-bench-api] [--baseline DIR] [--two-floors]
 *
 * --baseline DIR also runs the daemon built in another checkout (DIR/dist, e.g. the previous
 * commit) in the same rounds, for a before/after table, on a copy of the database given with
 * --baseline-db (an older daemon refuses a newer schema: the copy must have its schema); and
 * --two-floors keeps only the plain SQL and store floors (fewer servers share the cores).
 *
 * All servers run for the whole bench; rounds alternate between them so load from elsewhere on
 * the machine hits all alike. Each cell is the median over the rounds.
 *
 * Not a test: it prints a table and asserts nothing.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { lcg } from '../synthetic-runs.js';
import { ensureFixture, jobName } from './fixture.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    runs: { type: 'string', default: '1000000' },
    jobs: { type: 'string', default: '1000' },
    'job-files': { type: 'string', default: '10000' },
    dir: { type: 'string', default: '/tmp/distcron-bench-api' },
    /** Rounds per route and server, interleaved (distcron, floor, distcron, ...); medians reported. */
    rounds: { type: 'string', default: '3' },
    /** Processes of the multi-process store floor (node:cluster). */
    'floor-processes': { type: 'string', default: '2' },
    baseline: { type: 'string' },
    'baseline-db': { type: 'string' },
    'two-floors': { type: 'boolean', default: false },
  },
});

/** Linux USER_HZ: /proc times are in these ticks. */
const CLOCK_TICKS = 100;

interface Route {
  name: string;
  target: string;
  path: (i: number) => string;
}

interface Measure {
  p50: number;
  p99: number;
  rps: number;
  /** Server CPU time per request: unlike latency, barely moved by other load on the machine. */
  cpuUsPerRequest: number;
  non2xx: number;
  /** Connection errors and timeouts (autocannon's 10 s). */
  errors: number;
}

interface Server {
  name: string;
  url: string;
  child: ChildProcess;
}

function spawnServer(
  script: string,
  argv: string[],
): Promise<{ child: ChildProcess; url: string; info: string }> {
  const file = fileURLToPath(new URL(script, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...argv], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`bench: ${script} exited with ${code} before it was ready`)),
    );
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const info = JSON.parse(line) as { url: string };
      resolve({ child, url: info.url, info: line });
    });
  });
}

/** CPU time (user + system) so far of a process and its children (a cluster's workers), in ms (Linux /proc). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const own = ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  return own + childPids(pid).reduce((sum, child) => sum + cpuMs(child), 0);
}

function childPids(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text === '' ? [] : text.split(' ').map(Number);
  } catch {
    return [];
  }
}

async function drive(server: Server, route: Route, seconds: number, connections: number): Promise<Measure> {
  let i = 0;
  const cpuBefore = cpuMs(server.child.pid!);
  const result = await autocannon({
    url: server.url,
    connections,
    duration: seconds,
    requests: [{ setupRequest: (req) => ({ ...req, path: route.path(i++) }) }],
  });
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: result.requests.average,
    cpuUsPerRequest: ((cpuMs(server.child.pid!) - cpuBefore) * 1000) / Math.max(1, result.requests.total),
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** The shipped daemon, compiled: what `npm start`, the package's bin and the Docker image run. */
function spawnDaemon(
  fixture: { jobsDir: string; nodesDir: string; dbPath: string },
  name = 'distcron',
  checkout = fileURLToPath(new URL('../../', import.meta.url)),
): Promise<Server> {
  const root = checkout.endsWith('/') ? checkout : `${checkout}/`;
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  const started = performance.now();
  // The fixture's runs are in the past: a century of retention keeps the pruner off them.
  const flags = ['--jobs-dir', fixture.jobsDir, '--nodes-dir', fixture.nodesDir, '--db', fixture.dbPath];
  const child = spawn(
    process.execPath,
    [`${root}dist/cli/main.js`, 'daemon', ...flags, '--listen', '127.0.0.1:0', '--retention', '36500d'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`bench: the daemon exited with ${code} before it was ready`)),
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; api?: string; jobs?: number };
      if (entry.msg !== 'distcron ready') return;
      const info = { url: entry.api, startMs: Math.round(performance.now() - started), jobs: entry.jobs };
      process.stderr.write(`${name}: ready ${JSON.stringify(info)}\n`);
      resolve({ name, url: entry.api!, child });
    });
  });
}

async function startServer(name: string, script: string, argv: string[]): Promise<Server> {
  const { child, url, info } = await spawnServer(script, argv);
  process.stderr.write(`${name}: ready ${info}\n`);
  return { name, url, child };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function medianMeasure(rounds: Measure[]): Measure {
  return {
    p50: median(rounds.map((m) => m.p50)),
    p99: median(rounds.map((m) => m.p99)),
    rps: median(rounds.map((m) => m.rps)),
    cpuUsPerRequest: median(rounds.map((m) => m.cpuUsPerRequest)),
    non2xx: rounds.reduce((n, m) => n + m.non2xx, 0),
    errors: rounds.reduce((n, m) => n + m.errors, 0),
  };
}

/** Per route: a warm-up per server, then rounds alternating between the servers. */
async function measureRoute(route: Route, servers: Server[]): Promise<Map<string, Measure>> {
  const connections = Number(args.connections);
  const rounds = new Map<string, Measure[]>(servers.map((s) => [s.name, []]));
  for (const server of servers) await drive(server, route, 2, connections); // JIT, page cache
  for (let r = 0; r < Number(args.rounds); r++) {
    for (const server of servers)
      rounds.get(server.name)!.push(await drive(server, route, Number(args.duration), connections));
  }
  process.stderr.write(`${route.name} done\n`);
  return new Map([...rounds].map(([name, list]) => [name, medianMeasure(list)]));
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
}

function printTable(routes: Route[], servers: Server[], results: Map<string, Map<string, Measure>>): void {
  const header = [
    'route',
    'server',
    'p50 ms',
    'p99 ms',
    'req/s',
    'CPU µs/req',
    'non-2xx',
    'errors',
    'p99 target',
    'p99 ×floor',
    'req/s ×floor',
    'CPU ×floor',
  ];
  const rows: string[][] = [];
  for (const route of routes) {
    const measured = results.get(route.name)!;
    const f = measured.get('node:http floor')!;
    for (const server of servers) {
      const m = measured.get(server.name)!;
      const ratios = [m.p99 / f.p99, m.rps / f.rps, m.cpuUsPerRequest / f.cpuUsPerRequest];
      rows.push([
        route.name,
        server.name,
        m.p50.toFixed(1),
        m.p99.toFixed(1),
        m.rps.toFixed(0),
        m.cpuUsPerRequest.toFixed(0),
        String(m.non2xx),
        String(m.errors),
        server.name === 'distcron' ? route.target : '',
        ...ratios.map((r) => r.toFixed(2)),
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  console.log(pad(header, widths));
  for (const r of rows) console.log(pad(r, widths));
}

/** A floor is only a floor if it sends what distcron sends: the bench says so before measuring. */
async function checkSameAnswer(daemon: Server, floor: Server, path: string): Promise<void> {
  const body = async (s: Server) => (await fetch(`${s.url}${path}`)).text();
  const [ours, theirs] = await Promise.all([body(daemon), body(floor)]);
  const same = ours === theirs;
  console.log(`${floor.name} answers ${path} with the same body as ${daemon.name}: ${same ? 'yes' : 'NO'}`);
  if (!same) console.log(`  ${daemon.name}: ${ours.slice(0, 300)}\n  ${floor.name}: ${theirs.slice(0, 300)}`);
}

async function main(): Promise<void> {
  const spec = { runs: Number(args.runs), jobs: Number(args.jobs), jobFiles: Number(args['job-files']) };
  const fixture = ensureFixture(args.dir!, spec);
  const ids = fixture.sampleIds;
  const queryJob = jobName(42);
  // The same query over every job, a job drawn per request: pages are rarely read twice, so this
  // row shows what a run list costs when the store's summary cache does not have it.
  const anyJob = lcg(7);
  const routes: Route[] = [
    {
      name: `GET /api/v1/runs?job=${queryJob}&status=failed&limit=50`,
      target: '< 20',
      path: () => `/api/v1/runs?job=${queryJob}&status=failed&limit=50`,
    },
    {
      name: `GET /api/v1/runs?job=<any of ${spec.jobs}>&status=failed&limit=50`,
      target: '',
      path: () => `/api/v1/runs?job=${jobName(Math.floor(anyJob() * spec.jobs))}&status=failed&limit=50`,
    },
    { name: 'GET /api/v1/runs/:id', target: '', path: (i) => `/api/v1/runs/${ids[i % ids.length]}` },
    { name: 'GET /api/v1/jobs', target: '< 50', path: () => '/api/v1/jobs' },
  ];
  const load = loadavg().map((l) => l.toFixed(1));
  console.log(
    `API benchmark: ${spec.runs} runs over ${spec.jobs} jobs, ${spec.jobFiles} job files; ` +
      `${args.connections} connections, ${args.rounds} × ${args.duration}s per route and server (medians); ` +
      `${cpus().length} cores, load ${load.join(' ')}`,
  );
  const servers = [
    await spawnDaemon(fixture),
    ...(args.baseline
      ? [
          await spawnDaemon(
            { ...fixture, dbPath: args['baseline-db'] ?? fixture.dbPath },
            'baseline distcron',
            args.baseline,
          ),
        ]
      : []),
    await startServer('node:http floor', './server-floor.ts', [fixture.dbPath]),
    await startServer('store floor', './server-floor.ts', [fixture.dbPath, '--store']),
  ];
  if (!args['two-floors'])
    servers.push(
      await startServer('cached answers', './server-floor.ts', [fixture.dbPath, '--store', '--cached']),
      await startServer(`store floor ×${args['floor-processes']} processes`, './server-floor.ts', [
        fixture.dbPath,
        '--store',
        '--processes',
        args['floor-processes']!,
      ]),
    );
  await checkSameAnswer(
    servers[0]!,
    servers.find((s) => s.name === 'node:http floor')!,
    routes[0]!.path(0),
  );
  const results = new Map<string, Map<string, Measure>>();
  try {
    for (const route of routes) results.set(route.name, await measureRoute(route, servers));
  } finally {
    for (const server of servers) server.child.kill('SIGTERM');
  }
  printTable(routes, servers, results);
}

await main();
