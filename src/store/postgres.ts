/**
 * The PostgreSQL store (SPEC §15): node-postgres Pool, versioned migrations at open, every
 * operation of StoreOps (PgOps) either on the pool or inside one transaction's client.
 */
import pg from 'pg';
import { systemClock, type Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { AsyncStore, StoreTx } from './async-store.js';
import { PgCluster } from './postgres-cluster.js';
import { PgSharedConfig } from './postgres-config.js';
import { listenForQueue } from './postgres-listen.js';
import { migratePostgres } from './postgres-migrations.js';
import { PgOps } from './postgres-ops.js';
import { PG_TYPES, PoolSession, type Session } from './postgres-session.js';

export interface PostgresStoreOptions {
  /** postgres://user[:password]@host[:port]/database[?…] */
  url: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  logger?: Logger;
  /** Stamps outbox entries (created_at, first attempt); pass the daemon's clock. */
  clock?: Clock;
  /** How long a query waits for a free connection, and a connect for the server (default 10000). */
  connectTimeoutMs?: number;
  /** The server ends a session idle inside a transaction this long (releasing its locks); none by default. */
  idleInTransactionTimeoutMs?: number;
}

export const POSTGRES_DEFAULTS = { poolSize: 10, connectTimeoutMs: 10_000 } as const;

/** The URL without its password, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** Connects, migrates to the latest schema, and resolves the store; rejects (pool closed) when it cannot. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const logger = options.logger ?? silentLogger();
  const where = redactUrl(options.url);
  const pool = openPool(
    options,
    Math.max(1, Math.floor(options.poolSize ?? POSTGRES_DEFAULTS.poolSize)),
    logger,
  );
  // Heartbeats and the lease never queue behind run writes: a member busy with hundreds of runs
  // would otherwise look dead to the leader, and a busy leader would step down.
  const clusterPool = openPool(options, CLUSTER_POOL_SIZE, logger);
  try {
    const applied = await migratePostgres(pool, where);
    logger.info({ db: where, migrationsApplied: applied }, 'store: opened');
    const listen: Listen = (onWake, onCancel) =>
      listenForQueue({
        url: options.url,
        logger,
        connectTimeoutMs: options.connectTimeoutMs ?? POSTGRES_DEFAULTS.connectTimeoutMs,
        onWake,
        ...(onCancel ? { onCancel } : {}),
      });
    return new PostgresStore({ pool, clusterPool }, where, options.clock ?? systemClock, logger, listen);
  } catch (err) {
    await pool.end().catch(() => undefined);
    await clusterPool.end().catch(() => undefined);
    throw err;
  }
}

const CLUSTER_POOL_SIZE = 2;

/** Starts a LISTEN connection (see postgres-listen.ts); resolves its stop function. */
export type Listen = (onWake: () => void, onCancel?: () => void) => Promise<() => Promise<void>>;

function openPool(options: PostgresStoreOptions, max: number, logger: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max,
    connectionTimeoutMillis: options.connectTimeoutMs ?? POSTGRES_DEFAULTS.connectTimeoutMs,
    types: PG_TYPES,
    ...(options.idleInTransactionTimeoutMs
      ? { idle_in_transaction_session_timeout: Math.max(1, Math.round(options.idleInTransactionTimeoutMs)) }
      : {}),
  });
  // An idle client's connection dropping (server restart) is reported here; the next query reconnects.
  const where = redactUrl(options.url);
  pool.on('error', (err) => logger.warn({ err, db: where }, 'store: idle PostgreSQL connection lost'));
  return pool;
}

/**
 * The `tx` of a transaction: any rejected operation spoils it, also one that failed before
 * reaching SQL (bad input, a non-final status), as every failure does in SQLite's.
 */
function spoilingOnFailure(ops: PgOps, session: Session): StoreTx {
  return new Proxy(ops, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        try {
          return (await value.apply(target, args)) as unknown;
        } catch (err) {
          session.spoil();
          throw err;
        }
      };
    },
  });
}

export class PostgresStore extends PgOps implements AsyncStore {
  readonly kind = 'postgres' as const;
  readonly cluster: PgCluster;
  readonly sharedConfig: PgSharedConfig;
  private closed = false;

  private readonly pool: pg.Pool;
  private readonly clusterPool: pg.Pool;

  constructor(
    pools: { pool: pg.Pool; clusterPool: pg.Pool },
    /** The database URL without its password. */
    readonly where: string,
    clock: Clock,
    private readonly logger: Logger,
    listen: Listen,
  ) {
    super(new PoolSession(pools.pool), clock);
    this.pool = pools.pool;
    this.clusterPool = pools.clusterPool;
    this.cluster = new PgCluster(new PoolSession(pools.clusterPool), this, listen);
    this.sharedConfig = new PgSharedConfig(this.s);
  }

  transaction<T>(body: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.s.atomically((session) => body(spoilingOnFailure(new PgOps(session, this.clock), session)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
    await this.clusterPool.end();
    this.logger.info({ db: this.where }, 'store: closed');
  }
}
