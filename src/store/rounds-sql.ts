/**
 * The dependency rounds (SPEC §16) in either store: the same table and statements, SQLite
 * with `?` placeholders, PostgreSQL with `$n`. Parent completions are not stored apart: they are
 * the runs themselves (an execution is complete when its every host run is final), read with
 * recentExecutionRuns; a round records which completion of each parent it consumed.
 */
import type { Millis } from '../core/types.js';
import { LIST_RUN_COLUMNS } from './queries.js';
import { isoOrNull, millisOrNull } from './rows.js';
import type { ConsumedCompletion, DependencyRound } from './store.js';

/** Migration 7 of both stores (`TEXT`/`STRICT` on SQLite; see the callers). */
export function dependencyTablesSql(store: 'sqlite' | 'postgres'): string {
  const text = store === 'sqlite' ? 'TEXT' : 'text COLLATE "C"';
  const strict = store === 'sqlite' ? ' STRICT' : '';
  return `
CREATE TABLE dependency_rounds (
  job ${text} NOT NULL,
  round integer NOT NULL,
  fired_at ${text} NOT NULL,
  execution_id ${text},
  parents ${text} NOT NULL,
  PRIMARY KEY (job, round)
)${strict};
CREATE INDEX runs_job_finished ON runs (job, finished_at) WHERE finished_at IS NOT NULL;
`;
}

export interface RoundRow {
  job: string;
  round: number;
  fired_at: string;
  execution_id: string | null;
  parents: string;
}

/** Rounds kept per job: older ones are deleted as new ones are claimed (only the newest is read). */
export const ROUNDS_KEPT = 1000;

export const ROUNDS_SQL = {
  last: 'SELECT * FROM dependency_rounds WHERE job = ? ORDER BY round DESC LIMIT 1',
  claim: `INSERT INTO dependency_rounds (job, round, fired_at, execution_id, parents)
    VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  trim: 'DELETE FROM dependency_rounds WHERE job = ? AND round <= ?',
  recentExecutionRuns: `SELECT ${LIST_RUN_COLUMNS} FROM runs WHERE execution_id IN (
    SELECT execution_id FROM runs WHERE job = ? AND finished_at > ? AND status NOT IN ('skipped', 'missed')
    ORDER BY finished_at DESC LIMIT ?) ORDER BY id`,
};

/** The same statements with PostgreSQL's numbered placeholders. */
export const PG_ROUNDS_SQL = Object.fromEntries(
  Object.entries(ROUNDS_SQL).map(([name, sql]) => {
    let n = 0;
    return [name, sql.replace(/\?/g, () => `$${++n}`)];
  }),
) as typeof ROUNDS_SQL;

export function roundToParams(round: DependencyRound): unknown[] {
  const parents = Object.fromEntries(
    Object.entries(round.parents).map(([name, c]) => [
      name,
      { execution_id: c.executionId, completed_at: isoOrNull(c.completedAt), run_ids: c.runIds },
    ]),
  );
  return [round.job, round.round, isoOrNull(round.firedAt), round.executionId, JSON.stringify(parents)];
}

export function rowToRound(row: RoundRow): DependencyRound {
  const stored = JSON.parse(row.parents) as Record<
    string,
    { execution_id: string; completed_at: string; run_ids: string[] }
  >;
  const parents: Record<string, ConsumedCompletion> = {};
  for (const [name, c] of Object.entries(stored))
    parents[name] = {
      executionId: c.execution_id,
      completedAt: millisOrNull(c.completed_at)!,
      runIds: c.run_ids,
    };
  return {
    job: row.job,
    round: Number(row.round),
    firedAt: millisOrNull(row.fired_at) as Millis,
    executionId: row.execution_id,
    parents,
  };
}
