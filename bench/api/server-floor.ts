/**
 * Benchmark child: the floor. A bare node:http server answering the same three requests with
 * the same SQLite queries (better-sqlite3, prepared once) and a precomputed jobs page: what a
 * request costs with no framework, no validation, no auth. Prints {"url": ...} when ready.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import BetterSqlite3 from 'better-sqlite3';

const [dbPath] = process.argv.slice(2) as [string];
const db = new BetterSqlite3(dbPath, { readonly: true });
const LIST_COLUMNS =
  'id, execution_id, job, node, host, trigger, attempt, scheduled_at, started_at, finished_at, duration_ms, ' +
  'status, exit_code, signal, output_truncated, error';
const byJobStatus = db.prepare(
  `SELECT ${LIST_COLUMNS} FROM runs WHERE job = ? AND status = ? ORDER BY id DESC LIMIT ?`,
);
const byId = db.prepare('SELECT * FROM runs WHERE id = ?');
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

function send(res: import('node:http').ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/api/v1/runs') {
    const limit = Number(url.searchParams.get('limit') ?? 50);
    const rows = byJobStatus.all(url.searchParams.get('job'), url.searchParams.get('status'), limit + 1) as {
      id: string;
      output_truncated: number;
    }[];
    const page = rows.slice(0, limit).map((r) => ({ ...r, output_truncated: r.output_truncated === 1 }));
    return send(
      res,
      200,
      JSON.stringify({ runs: page, next_cursor: rows.length > limit ? page.at(-1)!.id : null }),
    );
  }
  if (url.pathname.startsWith('/api/v1/runs/')) {
    const row = byId.get(decodeURIComponent(url.pathname.slice('/api/v1/runs/'.length)));
    return row ? send(res, 200, JSON.stringify(row)) : send(res, 404, '{"error":{"code":"not_found"}}');
  }
  if (url.pathname === '/api/v1/jobs') return send(res, 200, jobsPage);
  send(res, 404, '{"error":{"code":"not_found"}}');
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(
    `${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`,
  );
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
