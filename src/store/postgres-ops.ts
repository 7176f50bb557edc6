import type { Clock } from '../core/clock.js';
import { FINAL_STATUSES, isoUtc, type Millis, type RunRecord } from '../core/types.js';
import {
  NotLeaderError,
  type ClaimFence,
  type RerunOf,
  type RunFinish,
  type RunStart,
  type RunStartFields,
  type StoreOps,
} from './async-store.js';
import { PgQueueOps } from './postgres-queue.js';
import { QUEUE_CHANNEL, QUEUE_SQL } from './postgres-queue.js';
import { PG_CANCELS_SQL } from './cancels-sql.js';
import * as Pools from './postgres-resources.js';
import type { ResourceHoldingRow, ResourceWaiterRow } from './resource-rows.js';
import type { Session } from './postgres-session.js';
import { pgRowToRun, PG_SQL as SQL, positional, runToPgRow, type PgRunRow } from './postgres-sql.js';
import { buildRunQuery, encodeCursor, type RunQuery } from './queries.js';
import { rowToJobState, storedStartTime, type JobStateRow } from './rows.js';
import { PG_ROUNDS_SQL, ROUNDS_KEPT, roundToParams, rowToRound, type RoundRow } from './rounds-sql.js';
import {
  ClaimConflictError,
  LOST_RUN_ERROR,
  type BaselineWrite,
  type DependencyRound,
  type FireClaim,
  type JobState,
  type OutboxEntry,
  type OutputChunk,
  type RunFilter,
  type RunPage,
} from './store.js';

/** Thrown inside a claim's savepoint to undo it; never escapes the store. */
class ClaimTaken extends Error {}

/**
 * Every operation of the PostgreSQL store against one Session: the pool (PostgresStore) or the
 * client of an open transaction (its `tx`). Multi-statement writes go through `atomically`.
 */
export class PgOps extends PgQueueOps implements StoreOps {
  constructor(s: Session, clock: Clock) {
    super(s, clock);
  }

  // ---- resource pools (postgres-resources.ts) ------------------------------------------

  lockResourcePools = (pools: readonly string[]) => Pools.lockPools(this.s, pools);
  readResources = (since: Millis) => Pools.readResources(this.s, since);
  putResourceWaiter = (waiter: ResourceWaiterRow) => Pools.putWaiter(this.s, waiter);
  grantResources = (runId: string, holdings: readonly ResourceHoldingRow[], pruneUpTo: Millis) =>
    Pools.grant(this.s, runId, holdings, pruneUpTo);
  releaseResources = (runId: string) => Pools.release(this.s, runId);
  releaseStaleResources = () => Pools.releaseStale(this.s);

  // ---- claims and inserts --------------------------------------------------------------

  async claimFire(claim: FireClaim): Promise<boolean> {
    return this.claimInSavepoint(this.s, [claim]);
  }

  /**
   * The usual batch (a scheduler tick's claims, every key free) is written set-wise, in a fixed
   * number of statements; when a key is taken that pass is undone and each claim is tried alone.
   */
  async claimFires(claims: readonly FireClaim[], fence?: ClaimFence): Promise<boolean[]> {
    return this.s.atomically(async (s) => {
      // FOR SHARE: a takeover (an UPDATE of the row) waits until this claim has committed.
      if (fence) {
        const { rowCount } = await s.query(SQL.checkFence, [fence.member, fence.epoch]);
        if (rowCount === 0) throw new NotLeaderError(fence);
      }
      if (claims.length > 1 && (await this.claimInSavepoint(s, claims))) return claims.map(() => true);
      const taken: boolean[] = [];
      for (const claim of claims) taken.push(await this.claimInSavepoint(s, [claim]));
      return taken;
    });
  }

  /** All of `claims` or none (a savepoint: a taken key undoes only these claims' writes). */
  private async claimInSavepoint(s: Session, claims: readonly FireClaim[]): Promise<boolean> {
    try {
      await s.savepoint((inner) => this.applyClaims(inner, claims));
      return true;
    } catch (err) {
      if (err instanceof ClaimTaken) return false;
      throw err;
    }
  }

  private async applyClaims(s: Session, claims: readonly FireClaim[]): Promise<void> {
    const keys = claims.flatMap((claim) => {
      const scheduledAt = isoUtc(claim.scheduledAt);
      return claim.runs.map(({ run, nodeKey }) => claimKey(claim.job, scheduledAt, nodeKey, run));
    });
    if (!(await this.insertClaims(s, keys))) throw new ClaimTaken();
    await this.insertRunRows(
      s,
      claims.flatMap((c) => c.runs.map((r) => r.run)),
    );
    await s.query(SQL.advanceScheduled, [JSON.stringify(latestInstants(claims))]);
    await this.enqueue(
      s,
      claims.flatMap((c) => c.outbox ?? []),
    );
    await this.enqueueIn(
      s,
      claims.flatMap((c) => (c.queue ? [c.queue] : [])),
    );
  }

  /** True when every key was free (and is now taken). */
  private async insertClaims(s: Session, keys: readonly ReturnType<typeof claimKey>[]): Promise<boolean> {
    if (keys.length === 0) return true;
    const { rowCount } = await s.query(SQL.insertClaims, [JSON.stringify(keys)]);
    return rowCount === keys.length;
  }

  async insertRun(run: RunRecord, nodeKey?: string): Promise<void> {
    await this.s.atomically(async (s) => {
      if (nodeKey !== undefined) await this.claimForRun(s, run, nodeKey);
      await this.insertRunRows(s, [run]);
    });
  }

  async importRuns(runs: readonly RunRecord[]): Promise<void> {
    if (runs.length > 0) await this.s.query(SQL.insertRuns, [JSON.stringify(runs.map(runToPgRow))]);
  }

  private async claimForRun(s: Session, run: RunRecord, nodeKey: string): Promise<void> {
    const key = run.scheduled_at ?? `execution:${run.execution_id}`;
    if (!(await this.insertClaims(s, [claimKey(run.job, key, nodeKey, run)]))) {
      throw new ClaimConflictError(
        `store: job ${run.job} at ${key} on ${nodeKey} attempt ${run.attempt} was already claimed; ` +
          'another run (or another daemon) owns it, so do not start this one',
      );
    }
  }

  /** Runs inserted already final (skipped, missed, error) are their job's latest outcome too. */
  private async insertRunRows(s: Session, runs: readonly RunRecord[]): Promise<void> {
    if (runs.length === 0) return;
    await s.query(SQL.insertRuns, [JSON.stringify(runs.map(runToPgRow))]);
    await this.recordOutcomes(s, runs.filter(isFinal));
  }

  /** Each job's latest outcome among `runs` (the last of its runs in the array). */
  private async recordOutcomes(s: Session, runs: readonly RunRecord[]): Promise<void> {
    if (runs.length === 0) return;
    const latest = new Map(runs.map((r) => [r.job, r]));
    const rows = [...latest.values()].map((r) => ({
      job: r.job,
      status: r.status,
      id: r.id,
      finished_at: r.finished_at,
    }));
    await s.query(SQL.recordOutcomes, [JSON.stringify(rows)]);
  }

  // ---- start and finish ----------------------------------------------------------------

  async markStarted(id: string, fields: RunStartFields): Promise<void> {
    await this.markStartedMany([{ id, fields }]);
  }

  async markStartedMany(starts: readonly RunStart[]): Promise<void> {
    if (starts.length === 0) return;
    const rows = starts.map(({ id, fields }) => ({
      id,
      node: fields.node,
      host: fields.host,
      started_at: storedStartTime(id, fields.started_at),
    }));
    const { rows: updated } = await this.s.query<{ id: string }>(SQL.markStarted, [JSON.stringify(rows)]);
    const missing = firstMissing(
      starts.map((r) => r.id),
      updated,
    );
    if (missing) throw new Error(`store: markStarted: run ${missing} does not exist; insert it first`);
  }

  async finishRun(run: RunRecord, outbox: OutboxEntry[]): Promise<void> {
    await this.finishRuns([{ run, outbox }]);
  }

  async finishRuns(finishes: readonly RunFinish[]): Promise<void> {
    if (finishes.length === 0) return;
    const notFinal = finishes.find((f) => !isFinal(f.run));
    if (notFinal) {
      const { id, status } = notFinal.run;
      throw new Error(`store: finishRun: run ${id} has status ${status}; pass a final status`);
    }
    await this.s.atomically(async (s) => {
      const kept = await this.withoutGivenUp(s, finishes);
      await this.updateRunRows(
        s,
        kept.map((f) => f.run),
      );
      await this.recordOutcomes(
        s,
        kept.map((f) => f.run),
      );
      await this.enqueue(
        s,
        kept.flatMap((f) => f.outbox),
      );
      await s.query(PG_CANCELS_SQL.drop, [kept.map((f) => f.run.id)]);
    });
  }

  /**
   * The cluster gave a run up (its member's heartbeat stopped) and recorded it lost once: the
   * member finishing it after all (it was paused) must not notify or ship it again. Locks the rows.
   */
  private async withoutGivenUp(s: Session, finishes: readonly RunFinish[]): Promise<RunFinish[]> {
    const ids = [...new Set(finishes.map((f) => f.run.id))];
    const { rows } = await s.query<{ id: string; status: string }>(SQL.lockRunStatuses, [ids]);
    const lost = new Set(rows.filter((r) => r.status === 'lost').map((r) => r.id));
    return finishes.filter((f) => !lost.has(f.run.id) || f.run.status === 'lost');
  }

  /** Each run's last record in `runs` (one row per id in the update). */
  private async updateRunRows(s: Session, runs: readonly RunRecord[]): Promise<void> {
    if (runs.length === 0) return;
    const last = [...new Map(runs.map((r) => [r.id, r])).values()];
    const rows = JSON.stringify(last.map(runToPgRow));
    const { rows: updated } = await s.query<{ id: string }>(SQL.updateRuns, [rows]);
    const missing = firstMissing(
      last.map((r) => r.id),
      updated,
    );
    if (missing) {
      throw new Error(
        `store: run ${missing} does not exist; insert it (claimFire/insertRun) before finishing it`,
      );
    }
  }

  async markRunningAsLost(
    now: Millis,
    outboxFor: (run: RunRecord) => OutboxEntry[],
    member?: string,
  ): Promise<RunRecord[]> {
    return this.s.atomically(async (s) => {
      const { rows } =
        member === undefined
          ? await s.query<PgRunRow>(SQL.lockRunning)
          : await s.query<PgRunRow>(SQL.lockRunningOf, [member]);
      const lost: RunRecord[] = [];
      for (const run of rows.map(pgRowToRun)) lost.push(await this.markLost(s, run, now, outboxFor));
      if (member !== undefined) await this.releaseMemberWork(s, member);
      return lost;
    });
  }

  /** See ClusterStore.markLostOfDeadMembers. */
  async markLostOfDeadMembers(
    ttlMs: number,
    except: string,
    now: Millis,
    outboxFor: (run: RunRecord) => OutboxEntry[],
    rerunOf?: RerunOf,
  ): Promise<RunRecord[]> {
    return this.s.atomically(async (s) => {
      const { rows: requeued } = await s.query<{ execution_id: string }>(SQL.untakeOfDead, [ttlMs, except]);
      const { rows } = await s.query<PgRunRow>(SQL.lockRunningOfDead, [ttlMs, except]);
      const lost: RunRecord[] = [];
      for (const run of rows.map(pgRowToRun)) lost.push(await this.markLost(s, run, now, outboxFor));
      const ids = requeued.map((r) => r.execution_id);
      if (ids.length > 0) await s.query(SQL.unassignUnstarted, [ids]);
      await s.query(SQL.releaseSlotsOfDead, [ttlMs, except]);
      const reruns = rerunOf ? await this.queueReruns(s, lost, rerunOf) : 0;
      if (ids.length + reruns > 0) await s.query(QUEUE_SQL.notify, [QUEUE_CHANNEL, '']);
      return lost;
    });
  }

  /**
   * One new attempt of each lost run whose job opts in (`rerun_lost`), queued again: the claim
   * key (job, instant or execution, node, attempt) makes it one even when two leaders race.
   */
  private async queueReruns(s: Session, lost: readonly RunRecord[], rerunOf: RerunOf): Promise<number> {
    let queued = 0;
    for (const run of lost) {
      const rerun = rerunOf(run);
      if (!rerun) continue;
      const next = rerun.run;
      try {
        await s.savepoint(async (inner) => {
          await this.claimForRun(inner, next, rerun.nodeKey);
          await this.insertRunRows(inner, [next]);
        });
      } catch (err) {
        if (err instanceof ClaimConflictError) continue;
        throw err;
      }
      await this.enqueueIn(s, [
        { executionId: next.execution_id, job: next.job, afterPrevious: false, jobDef: null },
      ]);
      queued++;
    }
    return queued;
  }

  private async markLost(
    s: Session,
    run: RunRecord,
    now: Millis,
    outboxFor: (run: RunRecord) => OutboxEntry[],
  ): Promise<RunRecord> {
    const started = run.started_at === null ? null : Date.parse(run.started_at);
    const lost: RunRecord = {
      ...run,
      status: 'lost',
      finished_at: isoUtc(now),
      duration_ms: started === null ? null : Math.max(0, now - started),
      error: LOST_RUN_ERROR,
    };
    await this.updateRunRows(s, [lost]);
    await this.recordOutcomes(s, [lost]);
    await this.enqueue(s, outboxFor(lost));
    return lost;
  }

  // ---- reads ---------------------------------------------------------------------------

  async getRun(id: string): Promise<RunRecord | undefined> {
    const { rows } = await this.s.query<PgRunRow>(SQL.getRun, [id]);
    return rows[0] && pgRowToRun(rows[0]);
  }

  /** The same query shapes, cursor and filters as SQLite (queries.ts). */
  async queryRuns(filter: RunFilter): Promise<RunPage> {
    const query = buildRunQuery(filter);
    const rows = await this.pageRows(query);
    const page = rows.slice(0, query.limit).map(pgRowToRun);
    const more = rows.length > query.limit && page.length > 0;
    return { runs: page, nextCursor: more ? encodeCursor(page[page.length - 1]!.id) : null };
  }

  /** The page's rows plus one more when another page follows. */
  private async pageRows(query: RunQuery): Promise<PgRunRow[]> {
    const run = async (sql: string) => {
      const { text, values } = positional(sql, query.params);
      return (await this.s.query<PgRunRow>(text, values)).rows;
    };
    const probed = query.probeSql ? await run(query.probeSql) : [];
    return probed.length > query.limit ? probed : run(query.sql);
  }

  async countRunning(job?: string): Promise<number> {
    const { rows } =
      job === undefined
        ? await this.s.query<{ n: number }>(SQL.countRunning)
        : await this.s.query<{ n: number }>(SQL.countRunningForJob, [job]);
    return rows[0]!.n;
  }

  // ---- live output chunks --------------------------------------------------------------

  async appendOutput(chunks: readonly OutputChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    const rows = chunks.map((c) => ({ ...c, end_offset: c.offset + Buffer.byteLength(c.text) }));
    await this.s.query(SQL.appendOutput, [JSON.stringify(rows)]);
  }

  async readOutput(runId: string, fromOffset: number, limit: number): Promise<OutputChunk[]> {
    const { rows } = await this.s.query<OutputChunk>(SQL.readOutput, [
      runId,
      fromOffset,
      Math.max(0, Math.floor(limit)),
    ]);
    return rows;
  }

  // ---- dependency rounds (SPEC §16) -----------------------------------------------------

  async lastDependencyRound(job: string): Promise<DependencyRound | undefined> {
    const { rows } = await this.s.query<RoundRow>(PG_ROUNDS_SQL.last, [job]);
    return rows[0] && rowToRound(rows[0]);
  }

  async claimDependencyRound(round: DependencyRound): Promise<boolean> {
    const { rowCount } = await this.s.query(PG_ROUNDS_SQL.claim, roundToParams(round));
    if (rowCount !== 1) return false;
    if (round.round > ROUNDS_KEPT)
      await this.s.query(PG_ROUNDS_SQL.trim, [round.job, round.round - ROUNDS_KEPT]);
    return true;
  }

  async recentExecutionRuns(job: string, after: Millis, limit: number): Promise<RunRecord[]> {
    const sql = PG_ROUNDS_SQL.recentExecutionRuns;
    const { rows } = await this.s.query<PgRunRow>(sql, [job, isoUtc(after), limit]);
    return rows.map(pgRowToRun);
  }

  async pruneRuns(before: Millis, batch: number): Promise<number> {
    const { rows } = await this.s.query<{ n: number }>(SQL.prune, [
      isoUtc(before),
      Math.max(0, Math.floor(batch)),
    ]);
    return rows[0]!.n;
  }

  // ---- job state -----------------------------------------------------------------------

  async getJobState(job: string): Promise<JobState | undefined> {
    const { rows } = await this.s.query<JobStateRow>(SQL.getJobState, [job]);
    return rows[0] && rowToJobState(rows[0]);
  }

  async listJobStates(): Promise<JobState[]> {
    const { rows } = await this.s.query<JobStateRow>(SQL.listJobStates);
    return rows.map(rowToJobState);
  }

  async setEnabledOverride(job: string, enabled: boolean | null): Promise<void> {
    await this.s.query(SQL.setEnabledOverride, [job, enabled]);
  }

  async setLastScheduled(job: string, at: Millis): Promise<void> {
    await this.s.query(SQL.setLastScheduled, [job, isoUtc(at)]);
  }

  /** One statement; a job named twice takes its last baseline (as SQLite's upsert does). */
  async setBaselines(items: readonly BaselineWrite[]): Promise<void> {
    const byJob = new Map(
      items.map((i) => [i.job, { job: i.job, key: i.key, at: i.at === null ? null : isoUtc(i.at) }]),
    );
    if (byJob.size > 0) await this.s.query(SQL.setBaselines, [JSON.stringify([...byJob.values()])]);
  }

  async forgetBaseline(job: string): Promise<void> {
    await this.s.query(SQL.forgetBaseline, [job]);
  }
}

function claimKey(job: string, scheduledAt: string, nodeKey: string, run: RunRecord) {
  return { job, scheduled_at: scheduledAt, node_key: nodeKey, attempt: run.attempt, run_id: run.id };
}

/** Each job once, at the latest instant its claims advance it to (one row per job in the upsert). */
function latestInstants(claims: readonly FireClaim[]): { job: string; at: string }[] {
  const latest = new Map<string, Millis>();
  for (const c of claims) latest.set(c.job, Math.max(latest.get(c.job) ?? -Infinity, c.advanceTo));
  return [...latest].map(([job, at]) => ({ job, at: isoUtc(at) }));
}

/** The first of `ids` not among the rows an update returned, if any. */
function firstMissing(ids: readonly string[], updated: readonly { id: string }[]): string | undefined {
  if (updated.length >= new Set(ids).size) return undefined;
  const found = new Set(updated.map((r) => r.id));
  return ids.find((id) => !found.has(id));
}

function isFinal(run: RunRecord): boolean {
  return FINAL_STATUSES.includes(run.status);
}
