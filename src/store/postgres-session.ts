/**
 * Where the PostgreSQL store's statements go: the pool (each operation its own transaction) or
 * one client inside an open transaction. Operations are written once against `Session`.
 */
import pg, { type Pool, type PoolClient, type QueryResultRow } from 'pg';
import { SPOILED_TRANSACTION } from './async-store.js';

/** bigint (int8: ids, count(*), duration_ms) as a JS number; every value here stays below 2^53. */
const INT8_OID = 20;
export const PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export interface Session {
  query<R extends QueryResultRow>(sql: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number }>;
  /** `body` in one transaction: a new one from the pool, or part of the one already open. */
  atomically<T>(body: (s: Session) => Promise<T>): Promise<T>;
  /**
   * `body` writing all or nothing of itself without ending an open transaction: a savepoint
   * there, a transaction of its own otherwise. Its error still rejects.
   */
  savepoint<T>(body: (s: Session) => Promise<T>): Promise<T>;
  /** An operation failed before reaching SQL: inside a transaction, it must not commit. */
  spoil(): void;
}

export class PoolSession implements Session {
  constructor(private readonly pool: Pool) {}

  async query<R extends QueryResultRow>(sql: string, values?: unknown[]) {
    const result = await this.pool.query<R>(sql, values);
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  }

  async atomically<T>(body: (s: Session) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A checked-out client has no pool listener: a connection ended by the server between two
    // statements (idle_in_transaction_session_timeout after this process was paused, a restart)
    // would emit an unhandled 'error' and crash the daemon. The next statement fails instead,
    // and the broken client is discarded rather than returned to the pool.
    let broken: Error | undefined;
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    const tx = new TxSession(client);
    try {
      await client.query('BEGIN');
      const result = await body(tx);
      tx.close();
      if (tx.spoiled) throw new Error(SPOILED_TRANSACTION);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      tx.close();
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  savepoint<T>(body: (s: Session) => Promise<T>): Promise<T> {
    return this.atomically(body);
  }

  spoil(): void {}
}

/**
 * One client inside an open transaction. Any failed operation spoils it (PostgreSQL would
 * refuse every later statement anyway): it then rolls back, like SQLite's batch().
 */
export class TxSession implements Session {
  spoiled = false;
  private open = true;
  private savepoints = 0;

  constructor(private readonly client: PoolClient) {}

  close(): void {
    this.open = false;
  }

  spoil(): void {
    this.spoiled = true;
  }

  async query<R extends QueryResultRow>(sql: string, values?: unknown[]) {
    if (!this.open) throw new Error('store: tx used after its transaction() settled');
    try {
      const result = await this.client.query<R>(sql, values);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    } catch (err) {
      this.spoiled = true;
      throw err;
    }
  }

  async atomically<T>(body: (s: Session) => Promise<T>): Promise<T> {
    try {
      return await body(this);
    } catch (err) {
      this.spoiled = true;
      throw err;
    }
  }

  async savepoint<T>(body: (s: Session) => Promise<T>): Promise<T> {
    const name = `sp${++this.savepoints}`;
    await this.query(`SAVEPOINT ${name}`);
    try {
      const result = await body(this);
      await this.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (err) {
      // Undo only this body. A failed statement has spoiled the transaction already; an error
      // of the caller's own (a claim found taken) leaves it usable.
      await this.query(`ROLLBACK TO SAVEPOINT ${name}`);
      throw err;
    }
  }
}
