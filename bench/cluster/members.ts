/**
 * Daemon processes as users run them (`node dist/cli/main.js daemon`, built first) sharing one
 * store: one member on SQLite, or several members on one PostgreSQL database. The bench fires
 * jobs through a member's API and reads outcomes straight from the store, as an operator would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface MemberOptions {
  jobsDir: string;
  nodesDir: string;
  /** A SQLite path or a postgres:// URL. */
  db: string;
  knownHostsFile?: string;
  /** Extra daemon flags (e.g. a short lease). */
  flags?: string[];
}

export interface Member {
  id: string;
  url: string;
  child: ChildProcess;
  exited: Promise<void>;
}

/** Reads from the store the members write: runs of an execution, the lease holder. */
export interface StoreReader {
  /** How many runs of `executionId` are final (not running), and how many there are. */
  progress(executionId: string): Promise<{ final: number; total: number; failed: number }>;
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export function storeReader(db: string): StoreReader {
  const query = db.startsWith('postgres') ? pgQuery(db) : sqliteQuery(db);
  return {
    query: query.run,
    async progress(id) {
      const [row] = await query.run<{ total: string; final: string; failed: string }>(PROGRESS, [id]);
      return { total: Number(row!.total), final: Number(row!.final), failed: Number(row!.failed) };
    },
    close: query.close,
  };
}

const PROGRESS = `SELECT count(*) AS total, count(*) FILTER (WHERE status <> 'running') AS final,
  count(*) FILTER (WHERE status NOT IN ('running', 'succeeded')) AS failed
  FROM runs WHERE execution_id = $1`;

interface Query {
  run<T>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

function pgQuery(url: string): Query {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  return {
    run: async <T>(sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows as T[],
    close: () => pool.end(),
  };
}

/** The same SQL on SQLite (which has FILTER too), `$n` placeholders as `?`. */
function sqliteQuery(path: string): Query {
  let db: Database.Database | null = null;
  const open = () => (db ??= new Database(path, { readonly: true, fileMustExist: true }));
  return {
    run: <T>(sql: string, params: unknown[] = []) =>
      Promise.resolve(
        open()
          .prepare(sql.replace(/\$\d+/g, '?'))
          .all(...params) as T[],
      ),
    close: async () => {
      db?.close();
    },
  };
}

let memberCount = 0;

/** Starts one member and resolves once it logged `distcron ready`. */
export function startMember(options: MemberOptions): Promise<Member> {
  const id = `bench-m${++memberCount}`;
  const args = [
    `${ROOT}dist/cli/main.js`,
    'daemon',
    ...['--jobs-dir', options.jobsDir, '--nodes-dir', options.nodesDir, '--db', options.db],
    ...['--listen', '127.0.0.1:0', '--member-id', id, '--no-ui'],
    ...(options.knownHostsFile ? ['--known-hosts', options.knownHostsFile] : []),
    ...['--ssh-connect-timeout', '60s', ...(options.flags ?? [])],
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bench: member ${id} exited with ${code} before ready`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.includes('"distcron ready"')) return;
      const entry = JSON.parse(line) as { msg?: string; api?: string };
      if (entry.msg === 'distcron ready') resolve({ id, url: entry.api!, child, exited });
    });
  });
}

/** Resident set size of a process in MiB (Linux). */
export function rssMib(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

/** POST /jobs/:name/run on a member: the execution id of the manual run. */
export async function fireJob(member: Member, job: string): Promise<string> {
  const res = await fetch(`${member.url}/api/v1/jobs/${job}/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  if (!res.ok) throw new Error(`bench: run ${job}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { execution_id: string }).execution_id;
}

/** Resolves when all `expected` runs of the execution are final; throws if any did not succeed. */
export async function waitForExecution(reader: StoreReader, executionId: string, expected: number) {
  for (;;) {
    const p = await reader.progress(executionId);
    if (p.total >= expected && p.final === p.total) {
      if (p.failed > 0) {
        const [bad] = await reader.query<{ status: string; error: string | null }>(
          "SELECT status, error FROM runs WHERE execution_id = $1 AND status <> 'succeeded' LIMIT 1",
          [executionId],
        );
        throw new Error(
          `bench: ${p.failed} of ${p.total} runs did not succeed, e.g. ${bad?.status}: ${bad?.error}`,
        );
      }
      return;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function stopMembers(members: Member[]): Promise<void> {
  for (const m of members) if (m.child.exitCode === null) m.child.kill('SIGTERM');
  await Promise.all(members.map((m) => m.exited));
}
