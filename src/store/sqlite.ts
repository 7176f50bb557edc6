import { resolve } from 'node:path';
import type { Statement } from 'better-sqlite3';
import { systemClock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/log.js';
import { FINAL_STATUSES, isoUtc, type Millis, type RunRecord } from '../core/types.js';
import { buildRunQuery, encodeCursor, type RunQuery } from './queries.js';
import { rowToJobState, rowToRun, runToRow, storedStartTime, type JobStateRow, type RunRow } from './rows.js';
import { openDatabase, type SqliteStoreOptions } from './sqlite-open.js';
import { SqliteOutboxTables } from './sqlite-outbox.js';
import { SqliteResources } from './sqlite-resources.js';
import { SqliteRounds } from './sqlite-rounds.js';
import { SqliteQueue } from './sqlite-queue.js';
import { SqliteCancels } from './sqlite-cancels.js';
import type { QueueActivity, QueueEntry, TakenExecution } from './async-store.js';
import {
  ClaimConflictError,
  LOST_RUN_ERROR,
  type AuditRow,
  type BaselineWrite,
  type FireClaim,
  type JobState,
  type OutboxEntry,
  type OutputChunk,
  type RunFilter,
  type RunPage,
  type Store,
} from './store.js';

export { STORE_DEFAULTS, type SqliteStoreOptions } from './sqlite-open.js';
export { ClaimConflictError, LOST_RUN_ERROR } from './store.js';

const STATS_REFRESH_MS = 3_600_000;
/** Jobs per setBaselines statement (a JSON array of ~1 MB). */
const INIT_CHUNK = 10_000;

/** Thrown inside a claim transaction to roll it back; never escapes the store. */
class ClaimTaken extends Error {}

export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}

/**
 * The SQLite (better-sqlite3, WAL) Store. Every multi-statement write is one IMMEDIATE
 * transaction, so a second connection (another Store on the same file) waits on busy_timeout
 * instead of failing mid-transaction.
 */
export class SqliteStore extends SqliteOutboxTables implements Store {
  readonly path: string;
  private readonly runQueries = new Map<string, Statement>();
  private readonly logger: Logger;
  private closed = false;
  /** Each job's last outcome recorded inside the open batch(), written just before it commits. */
  private readonly batchOutcomes = new Map<string, RunRecord>();
  private statsRefreshedAt: Millis;
  /** Called inside an open transaction, a better-sqlite3 transaction function is a savepoint. */
  private readonly nested: <T>(body: () => T) => T;
  /** The dependency rounds (SPEC §16). */
  readonly rounds: SqliteRounds;

  /** The resource pool tables (SPEC §16). */
  readonly resources: SqliteResources;
  private readonly queue: SqliteQueue;
  /** Cancel requests of runs executing elsewhere (SPEC §15). */
  readonly cancels: SqliteCancels;

  constructor(options: SqliteStoreOptions) {
    const path = resolve(options.path);
    const logger = options.logger ?? silentLogger();
    const clock = options.clock ?? systemClock;
    const { db, st } = openDatabase(path, options, logger);
    super(db, st, clock);
    this.path = path;
    this.logger = logger;
    this.statsRefreshedAt = clock.now();
    this.nested = db.transaction((body: () => unknown) => body()) as <T>(body: () => T) => T;
    this.resources = new SqliteResources(db);
    this.rounds = new SqliteRounds(db);
    this.queue = new SqliteQueue(db, clock);
    this.cancels = new SqliteCancels(db);
  }

  /** `body` all or nothing (a savepoint inside an open transaction). */
  inTransaction<T>(body: () => T): T {
    return this.atomically(body);
  }

  // ---- runs ----------------------------------------------------------------------------

  /** In a savepoint, so that inside a batch a taken claim undoes only itself. */
  claimFire(claim: FireClaim): boolean {
    return this.atomically(() => this.claimInSavepoint(claim));
  }

  claimFires(claims: readonly FireClaim[]): boolean[] {
    return this.atomically(() => claims.map((claim) => this.claimInSavepoint(claim)));
  }

  /** Inside an open transaction the wrapper is a savepoint: a taken claim undoes only itself. */
  private claimInSavepoint(claim: FireClaim): boolean {
    try {
      this.nested(() => this.applyClaim(claim));
      return true;
    } catch (err) {
      if (err instanceof ClaimTaken) return false;
      throw err;
    }
  }

  private applyClaim(claim: FireClaim): void {
    const scheduledAt = isoUtc(claim.scheduledAt);
    for (const { run, nodeKey } of claim.runs) {
      if (!this.insertClaim(claim.job, scheduledAt, nodeKey, run)) throw new ClaimTaken();
    }
    for (const { run } of claim.runs) this.insertRunRow(run);
    this.st.advanceScheduled.run({ job: claim.job, value: isoUtc(claim.advanceTo) });
    this.enqueue(claim.outbox ?? []);
    if (claim.queue) this.queue.enqueue([claim.queue]);
  }

  private insertClaim(job: string, scheduledAt: string, nodeKey: string, run: RunRecord): boolean {
    const row = { job, scheduled_at: scheduledAt, node_key: nodeKey, attempt: run.attempt, run_id: run.id };
    return this.st.insertClaim.run(row).changes === 1;
  }

  /**
   * With a nodeKey (retries) the run also claims (job, scheduled_at, nodeKey, attempt); a run
   * without a scheduled instant claims under "execution:<execution_id>". A taken key throws
   * ClaimConflictError and writes nothing.
   */
  insertRun(run: RunRecord, nodeKey?: string): void {
    this.atomically(() => {
      if (nodeKey !== undefined) this.claimForRun(run, nodeKey);
      this.insertRunRow(run);
    });
  }

  /** Bulk import in one transaction (benchmarks, tools); no claims, no job state. */
  importRuns(runs: readonly RunRecord[]): void {
    this.atomically(() => runs.forEach((run) => this.st.insertRun.run(runToRow(run))));
  }

  private claimForRun(run: RunRecord, nodeKey: string): void {
    const key = run.scheduled_at ?? `execution:${run.execution_id}`;
    if (!this.insertClaim(run.job, key, nodeKey, run)) {
      throw new ClaimConflictError(
        `store: job ${run.job} at ${key} on ${nodeKey} attempt ${run.attempt} was already claimed; ` +
          'another run (or another daemon) owns it, so do not start this one',
      );
    }
  }

  /** A run inserted already final (skipped, missed, error) is the job's latest outcome too. */
  private insertRunRow(run: RunRecord): void {
    this.st.insertRun.run(runToRow(run));
    if (isFinal(run)) this.recordOutcome(run);
  }

  /** The job's latest outcome; in a batch only each job's last one is written (the others would be overwritten). */
  private recordOutcome(run: RunRecord): void {
    if (this.batching) this.batchOutcomes.set(run.job, run);
    else this.writeOutcome(run);
  }

  private writeOutcome(run: RunRecord): void {
    this.st.recordOutcome.run({ job: run.job, status: run.status, id: run.id, finished_at: run.finished_at });
  }

  protected override beforeBatchCommit(): void {
    for (const run of this.batchOutcomes.values()) this.writeOutcome(run);
  }

  protected override afterBatch(): void {
    this.batchOutcomes.clear();
  }

  markStarted(id: string, fields: { node: string | null; host: string | null; started_at: string }): void {
    const started_at = storedStartTime(id, fields.started_at);
    const changes = this.st.markStarted.run({ id, ...fields, started_at }).changes;
    if (changes === 0) throw new Error(`store: markStarted: run ${id} does not exist; insert it first`);
  }

  finishRun(run: RunRecord, outbox: OutboxEntry[]): void {
    if (!isFinal(run)) {
      throw new Error(`store: finishRun: run ${run.id} has status ${run.status}; pass a final status`);
    }
    this.atomically(() => {
      this.updateRunRow(run);
      this.recordOutcome(run);
      this.enqueue(outbox);
      this.cancels.drop(run.id);
    });
  }

  private updateRunRow(run: RunRecord): void {
    if (this.st.updateRun.run(runToRow(run)).changes === 0) {
      throw new Error(
        `store: run ${run.id} does not exist; insert it (claimFire/insertRun) before finishing it`,
      );
    }
  }

  markRunningAsLost(now: Millis, outboxFor: (run: RunRecord) => OutboxEntry[]): RunRecord[] {
    return this.atomically(() => {
      const running = (this.st.selectRunning.all() as RunRow[]).map(rowToRun);
      const lost = running.map((run) => this.markLost(run, now, outboxFor));
      this.queue.releaseAll();
      return lost;
    });
  }

  // ---- run queue and node slots (see sqlite-queue.ts) -----------------------------------

  enqueueExecutions(entries: readonly QueueEntry[]): void {
    this.atomically(() => this.queue.enqueue(entries));
  }

  takeExecutions(member: string, limit: number): TakenExecution[] {
    if (limit <= 0 || !this.queue.hasWaiting()) return [];
    return this.atomically(() => this.cancels.attach(this.queue.take(member, limit)));
  }

  endExecution(executionId: string): void {
    this.queue.end(executionId);
  }

  queueActivity(jobs: readonly string[]): Map<string, QueueActivity> {
    return new Map(jobs.map((job) => [job, this.queue.activity(job)]));
  }

  takeNodeSlot(node: string, capacity: number, runId: string, member: string): boolean {
    return this.atomically(() => this.queue.takeSlot(node, capacity, runId, member));
  }

  releaseNodeSlot(runId: string): void {
    this.atomically(() => this.queue.releaseSlot(runId));
  }

  nodeLoads(): Record<string, number> {
    return this.queue.loads();
  }

  private markLost(run: RunRecord, now: Millis, outboxFor: (run: RunRecord) => OutboxEntry[]): RunRecord {
    const started = run.started_at === null ? null : Date.parse(run.started_at);
    const lost: RunRecord = {
      ...run,
      status: 'lost',
      finished_at: isoUtc(now),
      duration_ms: started === null ? null : Math.max(0, now - started),
      error: LOST_RUN_ERROR,
    };
    this.updateRunRow(lost);
    this.recordOutcome(lost);
    this.enqueue(outboxFor(lost));
    return lost;
  }

  getRun(id: string): RunRecord | undefined {
    const row = this.st.getRun.get(id) as RunRow | undefined;
    return row && rowToRun(row);
  }

  /** Newest first; `since` is inclusive, `until` exclusive; throws InvalidRunQueryError on bad input. */
  queryRuns(filter: RunFilter): RunPage {
    const query = buildRunQuery(filter);
    const rows = this.pageRows(query) as RunRow[];
    const page = rows.slice(0, query.limit).map(rowToRun);
    const more = rows.length > query.limit && page.length > 0;
    return { runs: page, nextCursor: more ? encodeCursor(page[page.length - 1]!.id) : null };
  }

  /** The page's rows plus one more when another page follows. */
  private pageRows(query: RunQuery): unknown[] {
    const rows = query.probeSql
      ? this.runStatement(`probe:${query.shape}`, query.probeSql).all(query.params)
      : [];
    return rows.length > query.limit ? rows : this.runStatement(query.shape, query.sql).all(query.params);
  }

  private runStatement(shape: string, sql: string): Statement {
    let statement = this.runQueries.get(shape);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.runQueries.set(shape, statement);
    }
    return statement;
  }

  countRunning(job?: string): number {
    const row = (job === undefined ? this.st.countRunning.get() : this.st.countRunningForJob.get(job)) as {
      n: number;
    };
    return row.n;
  }

  /**
   * Deletes at most `batch` final runs (oldest finish first) and their claims. Keep batches small
   * (100–200): one transaction holds the write lock for the whole batch.
   */
  pruneRuns(before: Millis, batch: number): number {
    const cutoff = isoUtc(before);
    this.refreshPlannerStats();
    return this.atomically(() => {
      const ids = this.st.pruneCandidates.pluck().all(cutoff, Math.max(0, Math.floor(batch))) as string[];
      for (const id of ids) {
        this.st.deleteRun.run(id);
        this.st.deleteRunOutput.run(id);
        this.cancels.drop(id);
        this.st.deleteClaims.run({ id, before: cutoff });
      }
      return ids.length;
    });
  }

  /**
   * The planner picks indexes from statistics that PRAGMA optimize keeps fresh (cheaply: it
   * samples). SQLite advises it at open and periodically; retention runs periodically, so it
   * piggybacks there at most once an hour.
   */
  private refreshPlannerStats(): void {
    const now = this.clock.now();
    if (now - this.statsRefreshedAt < STATS_REFRESH_MS) return;
    this.db.pragma('optimize');
    this.statsRefreshedAt = now;
  }

  // ---- audit --------------------------------------------------------------------------

  insertAudit(entry: Omit<AuditRow, 'id'>): void {
    this.st.insertAudit.run(entry);
  }

  listAudit(limit: number, before?: number): AuditRow[] {
    return this.st.listAudit.all(before ?? Number.MAX_SAFE_INTEGER, limit) as AuditRow[];
  }

  // ---- live output chunks --------------------------------------------------------------

  appendOutput(chunks: readonly OutputChunk[]): void {
    if (chunks.length === 0) return;
    this.atomically(() => {
      for (const c of chunks)
        this.st.appendOutput.run({ ...c, end_offset: c.offset + Buffer.byteLength(c.text) });
    });
  }

  readOutput(runId: string, fromOffset: number, limit: number): OutputChunk[] {
    return this.st.readOutput.all(runId, fromOffset, Math.max(0, Math.floor(limit))) as OutputChunk[];
  }

  // ---- job state -----------------------------------------------------------------------

  getJobState(job: string): JobState | undefined {
    const row = this.st.getJobState.get(job) as JobStateRow | undefined;
    return row && rowToJobState(row);
  }

  listJobStates(): JobState[] {
    return (this.st.listJobStates.all() as JobStateRow[]).map(rowToJobState);
  }

  setEnabledOverride(job: string, enabled: boolean | null): void {
    this.st.setEnabledOverride.run({ job, value: enabled === null ? null : enabled ? 1 : 0 });
  }

  setBaselines(items: readonly BaselineWrite[]): void {
    const rows = items.map((i) => ({ job: i.job, key: i.key, at: i.at === null ? null : isoUtc(i.at) }));
    this.atomically(() => {
      for (let i = 0; i < rows.length; i += INIT_CHUNK)
        this.st.setBaselines.run(JSON.stringify(rows.slice(i, i + INIT_CHUNK)));
    });
  }

  forgetBaseline(job: string): void {
    this.st.forgetBaseline.run(job);
  }

  setLastScheduled(job: string, at: Millis): void {
    this.st.setLastScheduled.run({ job, value: isoUtc(at) });
  }

  // ---- lifecycle -----------------------------------------------------------------------

  /** Checkpoints the WAL into the main file (so it stays small), refreshes planner stats, closes. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.pragma('optimize');
    } catch (err) {
      this.logger.warn(
        { err, path: this.path },
        'store: checkpoint at close failed; the WAL is replayed on next open',
      );
    } finally {
      this.db.close();
      this.logger.info({ path: this.path }, 'store: closed');
    }
  }
}

function isFinal(run: RunRecord): boolean {
  return FINAL_STATUSES.includes(run.status);
}
