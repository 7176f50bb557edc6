/**
 * Benchmark child: a floor. A bare node:http server answering the bench's requests with no
 * framework, no validation, no auth, and a precomputed jobs page. Prints {"url": ...} when ready.
 *
 *   server-floor.ts DB                      plain SQL (better-sqlite3, prepared once)
 *   server-floor.ts DB --store              distcron's own store (its run query and JSON.stringify)
 *   server-floor.ts DB --store --processes N   the same in N processes (node:cluster) sharing the port
 *   server-floor.ts DB --store --cached     each distinct answer built once, then sent as it is: the
 *                                           cost of HTTP and the socket alone (what a per-URL cache gets)
 *
 * The store floor is the least a run list can cost with distcron's query path: what remains
 * is node:http, the SQLite read and the write of the answer to the socket.
 */
import cluster from 'node:cluster';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { encodeCursor } from '../../src/store/queries.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { RunStatus } from '../../src/core/types.js';
import type { RunFilter } from '../../src/store/store.js';

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    store: { type: 'boolean', default: false },
    cached: { type: 'boolean', default: false },
    processes: { type: 'string', default: '1' },
  },
});
const dbPath = positionals[0]!;

/** Every field of distcron's run summary, in its order: the floor answers the same document. */
const LIST_COLUMNS =
  'id, execution_id, job, node, host, trigger, attempt, scheduled_at, started_at, finished_at, duration_ms, ' +
  'status, exit_code, signal, output_truncated, error, parameters, requested_by, parent_runs, script_sha256, member';

interface SummaryRow {
  id: string;
  output_truncated: number | boolean;
  parameters: string | null;
  parent_runs: string | null;
}

/** The row as the API shows it: a boolean flag and the JSON columns parsed. */
function summaryOf(row: SummaryRow): SummaryRow {
  row.output_truncated = row.output_truncated === 1;
  if (row.parameters !== null) row.parameters = JSON.parse(row.parameters) as string;
  if (row.parent_runs !== null) row.parent_runs = JSON.parse(row.parent_runs) as string;
  return row;
}

const jobsPage = JSON.stringify({
  jobs: Array.from({ length: 50 }, (_, j) => ({
    name: `job-${String(j).padStart(5, '0')}`,
    file: `/etc/distcron/jobs.d/job-${String(j).padStart(5, '0')}.json`,
    description: `Synthetic job ${j} for the API benchmark`,
    tags: [`team-${j % 10}`, 'report'],
    enabled: true,
    enabled_override: null,
    schedule: '0 3 1 1 *',
    next_fire_times: ['2027-01-01T02:00:00.000Z'],
    last_run: null,
    running: 0,
  })),
  next_cursor: 'am9iLTAwMDQ5',
});

interface RunReads {
  /** The JSON body of a run list page. */
  list(job: string, status: string, limit: number): string;
  /** The JSON body of one run, or null. */
  byId(id: string): string | null;
}

function plainSqlReads(): RunReads {
  const db = new BetterSqlite3(dbPath, { readonly: true });
  const byJobStatus = db.prepare(
    `SELECT ${LIST_COLUMNS} FROM runs WHERE job = ? AND status = ? ORDER BY id DESC LIMIT ?`,
  );
  const byId = db.prepare('SELECT * FROM runs WHERE id = ?');
  return {
    list(job, status, limit) {
      const rows = byJobStatus.all(job, status, limit + 1) as SummaryRow[];
      const page = rows.slice(0, limit).map(summaryOf);
      return JSON.stringify({
        runs: page,
        next_cursor: rows.length > limit ? encodeCursor(page.at(-1)!.id) : null,
      });
    },
    byId: (id) => {
      const row = byId.get(id);
      return row ? JSON.stringify(row) : null;
    },
  };
}

function storeReads(): RunReads {
  const store = openSqliteStore({ path: dbPath });
  return {
    list(job, status, limit) {
      const filter: RunFilter = { job, status: status as RunStatus, limit, withOutput: false };
      const page = store.queryRuns(filter);
      const runs = page.runs.map(({ stdout: _o, stderr: _e, ...summary }) => summary);
      return JSON.stringify({ runs, next_cursor: page.nextCursor });
    },
    byId: (id) => {
      const run = store.getRun(id);
      return run ? JSON.stringify(run) : null;
    },
  };
}

function cachedReads(reads: RunReads): RunReads {
  const answers = new Map<string, string | null>();
  const once = (key: string, build: () => string | null) => {
    if (!answers.has(key)) answers.set(key, build());
    return answers.get(key)!;
  };
  return {
    list: (job, status, limit) => once(`${job}|${status}|${limit}`, () => reads.list(job, status, limit))!,
    byId: (id) => once(id, () => reads.byId(id)),
  };
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function answer(reads: RunReads, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/api/v1/runs') {
    const q = url.searchParams;
    return send(
      res,
      200,
      reads.list(q.get('job') ?? '', q.get('status') ?? '', Number(q.get('limit') ?? 50)),
    );
  }
  if (url.pathname.startsWith('/api/v1/runs/')) {
    const body = reads.byId(decodeURIComponent(url.pathname.slice('/api/v1/runs/'.length)));
    return body ? send(res, 200, body) : send(res, 404, '{"error":{"code":"not_found"}}');
  }
  if (url.pathname === '/api/v1/jobs') return send(res, 200, jobsPage);
  send(res, 404, '{"error":{"code":"not_found"}}');
}

function serve(port: number, ready: (port: number) => void): void {
  const direct = flags.store ? storeReads() : plainSqlReads();
  const reads = flags.cached ? cachedReads(direct) : direct;
  const server = createServer((req, res) => answer(reads, req, res));
  server.listen(port, '127.0.0.1', () => ready((server.address() as AddressInfo).port));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

function announce(port: number): void {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
}

/** node:cluster: the primary hands each new connection to the next worker in turn. */
function serveInProcesses(count: number): void {
  if (cluster.isWorker) return serve(Number(process.env.FLOOR_PORT), () => undefined);
  let listening = 0;
  // The workers share one port, chosen by the primary up front.
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const port = (probe.address() as AddressInfo).port;
    probe.close(() => {
      const workers = Array.from({ length: count }, () => cluster.fork({ FLOOR_PORT: String(port) }));
      cluster.on('listening', () => ++listening === count && announce(port));
      process.on('SIGTERM', () => {
        for (const worker of workers) worker.kill('SIGTERM');
        process.exit(0);
      });
    });
  });
}

const processes = Number(flags.processes);
if (processes > 1) serveInProcesses(processes);
else serve(0, announce);
