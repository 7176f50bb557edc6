/** The cancel requests of the SQLite store (see cancels-sql.ts); statements prepared when first used. */
import type { Database, Statement } from 'better-sqlite3';
import type { CancelRequest, TakenExecution } from './async-store.js';
import {
  CANCELS_SQL,
  cancelParams,
  rowToCancel,
  runIdsOf,
  withCancels,
  type CancelRow,
} from './cancels-sql.js';

export class SqliteCancels {
  private statements?: Record<keyof typeof CANCELS_SQL, Statement>;

  constructor(private readonly db: Database) {}

  request(request: CancelRequest): boolean {
    return this.st().request.get(...cancelParams(request)) !== undefined;
  }

  pending(member: string): CancelRequest[] {
    return (this.st().pending.all(member) as CancelRow[]).map(rowToCancel);
  }

  /** Inside the take's transaction: requests made before the take are seen with it. */
  attach(taken: Omit<TakenExecution, 'cancels'>[]): TakenExecution[] {
    if (taken.length === 0) return [];
    const rows = this.st().ofRuns.all(JSON.stringify(runIdsOf(taken))) as CancelRow[];
    return withCancels(taken, rows.map(rowToCancel));
  }

  drop(runId: string): void {
    this.st().drop.run(runId);
  }

  private st(): Record<keyof typeof CANCELS_SQL, Statement> {
    this.statements ??= {
      request: this.db.prepare(CANCELS_SQL.request),
      pending: this.db.prepare(CANCELS_SQL.pending),
      ofRuns: this.db.prepare(CANCELS_SQL.ofRuns),
      drop: this.db.prepare(CANCELS_SQL.drop),
    };
    return this.statements;
  }
}
