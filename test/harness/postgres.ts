/**
 * A real PostgreSQL server for tests: Debian's `postgresql` package, a cluster made with `initdb`
 * in a temp dir, run as the `postgres` user on a free loopback port (no systemd here), trust
 * authentication on 127.0.0.1 only. One server per test run; each test gets its own database.
 * What trips it up on these machines: ../../../shared/notes/postgres-test-server.md.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

const PG_ROOT = '/usr/lib/postgresql';
const SERVER_USER = 'postgres';

/** Why no server can be started here, or null when one can. */
export function postgresMissingReason(): string | null {
  if (!postgresBinDir()) return `no server binaries under ${PG_ROOT} (apt-get install postgresql)`;
  if (process.getuid?.() !== 0) return 'the PostgreSQL test server needs root (it runs as the postgres user)';
  if (!userId(SERVER_USER)) return `no "${SERVER_USER}" user (the postgresql package creates it)`;
  return null;
}

/** The newest installed major version's bin directory (initdb, pg_ctl are not on PATH). */
function postgresBinDir(): string | null {
  if (!existsSync(PG_ROOT)) return null;
  const majors = readdirSync(PG_ROOT)
    .filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] ? join(PG_ROOT, majors[0], 'bin') : null;
}

function userId(name: string): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { stdio: 'pipe' }).toString().trim());
    const gid = Number(execFileSync('id', ['-g', name], { stdio: 'pipe' }).toString().trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

/** Test-only settings: loopback, trust, no durability (never for a benchmark claiming it). */
function serverConfig(dataDir: string, port: number): string {
  return [
    `listen_addresses = '127.0.0.1'`,
    `port = ${port}`,
    `unix_socket_directories = '${dataDir}'`,
    'max_connections = 300',
    'fsync = off',
    'full_page_writes = off',
    'synchronous_commit = off',
    '',
  ].join('\n');
}

export class TestPostgres {
  private stopped = false;
  private databases = 0;

  private constructor(
    private readonly binDir: string,
    readonly dataDir: string,
    readonly port: number,
  ) {}

  /** initdb into a fresh temp dir and start the server; throws when it cannot. */
  static async start(): Promise<TestPostgres> {
    const reason = postgresMissingReason();
    if (reason) throw new Error(`postgres harness: ${reason}`);
    const binDir = postgresBinDir()!;
    const owner = userId(SERVER_USER)!;
    const root = mkdtempSync(join(tmpdir(), 'distcron-pg-'));
    chownSync(root, owner.uid, owner.gid);
    const dataDir = join(root, 'data');
    const server = new TestPostgres(binDir, dataDir, await freePort());
    server.initdb();
    writeFileSync(join(dataDir, 'postgresql.auto.conf'), serverConfig(dataDir, server.port));
    writeFileSync(join(dataDir, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
    chownSync(join(dataDir, 'postgresql.auto.conf'), owner.uid, owner.gid);
    server.pgCtl(['start', '-w', '-t', '60', '-l', join(dataDir, 'server.log')]);
    return server;
  }

  private initdb(): void {
    const args = ['-D', this.dataDir, '--auth=trust', '-U', SERVER_USER, '-E', 'UTF8'];
    try {
      this.asServerUser(join(this.binDir, 'initdb'), [...args, '--locale=C.UTF-8']);
    } catch {
      this.asServerUser(join(this.binDir, 'initdb'), [...args, '--locale=C']);
    }
  }

  private pgCtl(args: string[]): void {
    this.asServerUser(join(this.binDir, 'pg_ctl'), ['-D', this.dataDir, ...args]);
  }

  private asServerUser(program: string, args: string[]): string {
    return execFileSync('runuser', ['-u', SERVER_USER, '--', program, ...args], {
      stdio: 'pipe',
      cwd: '/',
    }).toString();
  }

  /** postgres://postgres@127.0.0.1:PORT/DB */
  url(database = 'postgres'): string {
    return `postgres://${SERVER_USER}@127.0.0.1:${this.port}/${database}`;
  }

  /** Runs SQL through psql over TCP; returns the unaligned, tuples-only output. */
  psql(sql: string, database = 'postgres'): string {
    return execFileSync(
      'psql',
      ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', this.url(database), '-c', sql],
      {
        stdio: 'pipe',
      },
    )
      .toString()
      .trim();
  }

  /** A fresh, empty database for one test; returns its name (`url(name)` connects to it). */
  createDatabase(prefix = 'test'): string {
    const name = `${prefix}_${process.pid}_${++this.databases}`;
    this.psql(`CREATE DATABASE ${name} TEMPLATE template0`);
    return name;
  }

  /** Drops every client connection, as a failover or a database restart does. */
  restart(): void {
    this.pgCtl(['restart', '-m', 'fast', '-w', '-t', '60', '-l', join(this.dataDir, 'server.log')]);
  }

  /** Stops the server, keeping its files (an outage); `resume()` starts it again. */
  pause(): void {
    this.pgCtl(['stop', '-m', 'fast', '-w', '-t', '60']);
  }

  resume(): void {
    this.pgCtl(['start', '-w', '-t', '60', '-l', join(this.dataDir, 'server.log')]);
  }

  /** Stops the server and removes its files. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    try {
      this.pgCtl(['stop', '-m', 'immediate', '-w']);
    } finally {
      rmSync(join(this.dataDir, '..'), { recursive: true, force: true });
    }
  }
}
