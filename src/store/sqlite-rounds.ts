/** The dependency rounds of the SQLite store (see rounds-sql.ts); statements prepared when first used. */
import type { Database, Statement } from 'better-sqlite3';
import { isoUtc, type Millis, type RunRecord } from '../core/types.js';
import { ROUNDS_KEPT, ROUNDS_SQL, roundToParams, rowToRound, type RoundRow } from './rounds-sql.js';
import { rowToRun, type RunRow } from './rows.js';
import type { DependencyRound } from './store.js';

export class SqliteRounds {
  private statements?: Record<keyof typeof ROUNDS_SQL, Statement>;

  constructor(private readonly db: Database) {}

  last(job: string): DependencyRound | undefined {
    const row = this.st().last.get(job) as RoundRow | undefined;
    return row ? rowToRound(row) : undefined;
  }

  claim(round: DependencyRound): boolean {
    if (this.st().claim.run(...roundToParams(round)).changes !== 1) return false;
    if (round.round > ROUNDS_KEPT) this.st().trim.run(round.job, round.round - ROUNDS_KEPT);
    return true;
  }

  recentExecutionRuns(job: string, after: Millis, limit: number): RunRecord[] {
    const rows = this.st().recentExecutionRuns.all(job, isoUtc(after), limit) as RunRow[];
    return rows.map(rowToRun);
  }

  private st(): Record<keyof typeof ROUNDS_SQL, Statement> {
    this.statements ??= {
      last: this.db.prepare(ROUNDS_SQL.last),
      claim: this.db.prepare(ROUNDS_SQL.claim),
      trim: this.db.prepare(ROUNDS_SQL.trim),
      recentExecutionRuns: this.db.prepare(ROUNDS_SQL.recentExecutionRuns),
    };
    return this.statements;
  }
}
