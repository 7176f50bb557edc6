/**
 * One daemon per PostgreSQL database, until cluster mode (SPEC §15) gives daemons member ids.
 * A second daemon would take the first one's `running` runs for leftovers of a crash and mark
 * them lost, and both would schedule every job.
 *
 * The lease is a row (`daemon_lease`, name 'daemon') holding the daemon's id, host and pid and
 * an expiry in the database's clock (never the daemons' clocks, never a session advisory lock:
 * a lease survives a connection drop of its holder and expires on its own when the holder dies).
 * The holder renews it every `renewMs`; a daemon starting takes it only when it is free: released
 * (clean stop), expired (`ttlMs` without renewal), or held by a process of this host that is
 * gone (kill -9 and restart on the same machine need not wait for the expiry). Otherwise it
 * refuses to start, naming the holder. Taking the row is one conditional statement, so of two
 * daemons starting at once only one gets it.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { silentLogger, type Logger } from '../core/log.js';
import { DaemonLockedError } from './daemon-lock.js';
import { redactUrl } from './postgres.js';

export interface PostgresLeaseOptions {
  url: string;
  /** How long the lease lasts without renewal (database clock). */
  ttlMs?: number;
  /** How often the holder renews it. */
  renewMs?: number;
  logger?: Logger;
  /** The lease was taken over by another daemon (this one was paused or cut off past the TTL). */
  onLost?: () => void;
}

export const LEASE_DEFAULTS = { ttlMs: 8_000, renewMs: 2_000 } as const;

export interface PostgresLease {
  /** This daemon's id in the lease row. */
  readonly holder: string;
  /** Gives the lease up (deletes the row) and closes its connection. Idempotent. */
  release(): Promise<void>;
}

const TABLE = `
CREATE TABLE IF NOT EXISTS daemon_lease (
  name text PRIMARY KEY,
  holder text NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  acquired_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
)`;

/** Takes the row when it is free; returns the new holder, or nothing when another holds it. */
const TAKE = `
INSERT INTO daemon_lease AS l (name, holder, host, pid, acquired_at, expires_at)
VALUES ('daemon', $1, $2, $3, now(), now() + $4 * interval '1 millisecond')
ON CONFLICT (name) DO UPDATE
  SET holder = excluded.holder, host = excluded.host, pid = excluded.pid,
      acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
  WHERE l.expires_at < now() OR l.holder = $5
RETURNING l.holder`;

const CURRENT = `
SELECT holder, host, pid, acquired_at, greatest(0, floor(extract(epoch FROM expires_at - now()) * 1000))::bigint AS left_ms
FROM daemon_lease WHERE name = 'daemon'`;

const RENEW = `
UPDATE daemon_lease SET expires_at = now() + $2 * interval '1 millisecond'
WHERE name = 'daemon' AND holder = $1 RETURNING holder`;

interface Current {
  holder: string;
  host: string;
  pid: number;
  acquired_at: Date;
  left_ms: string;
}

/** Takes the database's daemon lease, or rejects with DaemonLockedError naming its holder. */
export async function acquirePostgresLease(options: PostgresLeaseOptions): Promise<PostgresLease> {
  const ttlMs = options.ttlMs ?? LEASE_DEFAULTS.ttlMs;
  const renewMs = options.renewMs ?? LEASE_DEFAULTS.renewMs;
  const logger = options.logger ?? silentLogger();
  const where = redactUrl(options.url);
  const pool = new pg.Pool({ connectionString: options.url, max: 1, connectionTimeoutMillis: 10_000 });
  pool.on('error', (err) => logger.warn({ err, db: where }, 'store: lease connection lost'));
  const holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  try {
    await createTable(pool);
    if (!(await take(pool, holder, ttlMs))) {
      const current = await readCurrent(pool);
      if (!current || !deadOnThisHost(current) || !(await take(pool, holder, ttlMs, current.holder)))
        throw lockedError(where, await readCurrent(pool));
      logger.warn(
        { db: where, previous: current.holder },
        'store: the previous daemon on this database died on this host; taking its lease over',
      );
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  return new Lease(pool, holder, { ttlMs, renewMs, logger, where, onLost: options.onLost });
}

async function createTable(pool: pg.Pool): Promise<void> {
  try {
    await pool.query(TABLE);
  } catch (err) {
    // Two daemons creating it at once: one of them sees a duplicate (23505/42P07); it exists now.
    const code = (err as { code?: string }).code;
    if (code !== '23505' && code !== '42P07') throw err;
  }
}

async function take(pool: pg.Pool, holder: string, ttlMs: number, replacing = ''): Promise<boolean> {
  const result = await pool.query(TAKE, [holder, hostname(), process.pid, ttlMs, replacing]);
  return result.rowCount === 1;
}

async function readCurrent(pool: pg.Pool): Promise<Current | undefined> {
  return (await pool.query<Current>(CURRENT)).rows[0];
}

/** The holder ran on this host and its process is gone (so its lease only waits for the expiry). */
function deadOnThisHost(current: Current): boolean {
  if (current.host !== hostname() || current.pid === process.pid) return false;
  try {
    process.kill(current.pid, 0);
    return false;
  } catch (err) {
    return (err as { code?: string }).code === 'ESRCH';
  }
}

function lockedError(where: string, current: Current | undefined): DaemonLockedError {
  const who = current
    ? `pid ${current.pid} on ${current.host}, since ${current.acquired_at.toISOString()}; its lease expires in ${Math.ceil(Number(current.left_ms) / 1000)} s unless renewed`
    : 'holder unknown';
  return new DaemonLockedError(
    `another distcron daemon is using the database ${where} (${who}); stop it first, or give this daemon its own --db ` +
      '(several daemons on one PostgreSQL database — cluster mode — are not supported yet)',
  );
}

class Lease implements PostgresLease {
  private timer: NodeJS.Timeout | null = null;
  private released: Promise<void> | null = null;
  private lost = false;

  constructor(
    private readonly pool: pg.Pool,
    readonly holder: string,
    private readonly o: {
      ttlMs: number;
      renewMs: number;
      logger: Logger;
      where: string;
      onLost?: () => void;
    },
  ) {
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.renew(), this.o.renewMs);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    try {
      const result = await this.pool.query(RENEW, [this.holder, this.o.ttlMs]);
      if (result.rowCount === 0 && !this.lost && !this.released) {
        this.lost = true;
        this.o.logger.error(
          { db: this.o.where, holder: this.holder },
          'store: another daemon took this daemon’s lease of the database (this one was paused or cut off longer than the lease lasts)',
        );
        this.o.onLost?.();
      }
    } catch (err) {
      this.o.logger.warn({ err, db: this.o.where }, 'store: could not renew the daemon lease; retrying');
    }
    if (!this.released && !this.lost) this.schedule();
  }

  release(): Promise<void> {
    this.released ??= (async () => {
      if (this.timer) clearTimeout(this.timer);
      try {
        await this.pool.query("DELETE FROM daemon_lease WHERE name = 'daemon' AND holder = $1", [
          this.holder,
        ]);
      } catch (err) {
        this.o.logger.warn(
          { err, db: this.o.where },
          'store: could not release the daemon lease; it expires on its own',
        );
      }
      await this.pool.end().catch(() => undefined);
    })();
    return this.released;
  }
}
