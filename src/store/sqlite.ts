import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import { systemClock, type Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/log.js';
import { FINAL_STATUSES, isoUtc, type Millis, type RunRecord } from '../core/types.js';
import { migrate } from './migrations.js';
import { buildRunQuery, encodeCursor } from './queries.js';
import {
  notifyStateToRow,
  rowToDeadLetter,
  rowToJobState,
  rowToNotifyState,
  rowToOutboxItem,
  rowToRun,
  runToRow,
  type DeadLetterRow,
  type JobStateRow,
  type NotifyStateRow,
  type OutboxRow,
  type RunRow,
} from './rows.js';
import { prepareStatements, type Statements } from './statements.js';
import type {
  DeadLetter,
  FireClaim,
  JobState,
  NotifyState,
  OutboxEntry,
  OutboxItem,
  OutboxSink,
  OutboxStep,
  RunFilter,
  RunPage,
  Store,
} from './store.js';

export interface SqliteStoreOptions {
  /** Database file; its directory is created when missing. */
  path: string;
  logger?: Logger;
  /** How long a write waits for another connection's lock before failing (default 5000). */
  busyTimeoutMs?: number;
  /** Stamps outbox entries (created_at, first attempt); pass the daemon's clock. */
  clock?: Clock;
}

export const STORE_DEFAULTS = { busyTimeoutMs: 5000, deadLetterListLimit: 100 } as const;

export const LOST_RUN_ERROR = 'daemon stopped while the run was in flight';

const OUTBOX_SINKS: readonly OutboxSink[] = ['elasticsearch', 'notify', 'email', 'webhook'];

/** insertRun found the (job, scheduled instant, node, attempt) key already taken. */
export class ClaimConflictError extends Error {}

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
export class SqliteStore implements Store {
  readonly path: string;
  private readonly db: Database;
  private readonly st: Statements;
  private readonly runQueries = new Map<string, Statement>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private closed = false;

  constructor(options: SqliteStoreOptions) {
    this.path = resolve(options.path);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger();
    mkdirSync(dirname(this.path), { recursive: true });
    this.db = new BetterSqlite3(this.path, {
      timeout: options.busyTimeoutMs ?? STORE_DEFAULTS.busyTimeoutMs,
    });
    try {
      this.configure(options.busyTimeoutMs ?? STORE_DEFAULTS.busyTimeoutMs);
      const applied = migrate(this.db, this.path);
      this.st = prepareStatements(this.db);
      this.logger.info({ path: this.path, migrationsApplied: applied }, 'store: opened');
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  private configure(busyTimeoutMs: number): void {
    this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    this.db.pragma('journal_mode = WAL');
    // In WAL mode NORMAL syncs at checkpoints, not at every commit: a committed transaction
    // survives kill -9 of this process (it is in the WAL file), but an OS crash or power loss
    // may lose the last few transactions. FULL would fsync every commit at a large write cost.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    // 64 MiB of page cache keeps the hot index pages of a large runs table in memory.
    this.db.pragma('cache_size = -65536');
  }

  // ---- runs ----------------------------------------------------------------------------

  claimFire(claim: FireClaim): boolean {
    try {
      this.db.transaction(() => this.applyClaim(claim)).immediate();
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
    this.db
      .transaction(() => {
        if (nodeKey !== undefined) this.claimForRun(run, nodeKey);
        this.insertRunRow(run);
      })
      .immediate();
  }

  /** Bulk import in one transaction (benchmarks, tools); no claims, no job state. */
  importRuns(runs: readonly RunRecord[]): void {
    this.db.transaction(() => runs.forEach((run) => this.st.insertRun.run(runToRow(run)))).immediate();
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

  private recordOutcome(run: RunRecord): void {
    this.st.recordOutcome.run({ job: run.job, status: run.status, id: run.id, finished_at: run.finished_at });
  }

  markStarted(id: string, fields: { node: string | null; host: string | null; started_at: string }): void {
    const changes = this.st.markStarted.run({ id, ...fields }).changes;
    if (changes === 0) throw new Error(`store: markStarted: run ${id} does not exist; insert it first`);
  }

  finishRun(run: RunRecord, outbox: OutboxEntry[]): void {
    if (!isFinal(run)) {
      throw new Error(`store: finishRun: run ${run.id} has status ${run.status}; pass a final status`);
    }
    this.db
      .transaction(() => {
        this.updateRunRow(run);
        this.recordOutcome(run);
        this.enqueue(outbox);
      })
      .immediate();
  }

  private updateRunRow(run: RunRecord): void {
    if (this.st.updateRun.run(runToRow(run)).changes === 0) {
      throw new Error(
        `store: run ${run.id} does not exist; insert it (claimFire/insertRun) before finishing it`,
      );
    }
  }

  markRunningAsLost(now: Millis, outboxFor: (run: RunRecord) => OutboxEntry[]): RunRecord[] {
    return this.db
      .transaction(() => {
        const running = (this.st.selectRunning.all() as RunRow[]).map(rowToRun);
        return running.map((run) => this.markLost(run, now, outboxFor));
      })
      .immediate();
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
    const fetch = query.limit + 1;
    let rows = query.probeSql
      ? this.runStatement(`probe:${query.shape}`, query.probeSql).all(query.params)
      : [];
    if (rows.length < fetch) rows = this.runStatement(query.shape, query.sql).all(query.params);
    return this.toPage(rows as RunRow[], query.limit);
  }

  private toPage(rows: RunRow[], limit: number): RunPage {
    const page = rows.slice(0, limit).map(rowToRun);
    const more = rows.length > limit && page.length > 0;
    return { runs: page, nextCursor: more ? encodeCursor(page[page.length - 1]!.id) : null };
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

  /** Deletes at most `batch` final runs (oldest finish first) and their claims; keep batches small. */
  pruneRuns(before: Millis, batch: number): number {
    const cutoff = isoUtc(before);
    return this.db
      .transaction(() => {
        const ids = this.st.pruneCandidates.pluck().all(cutoff, Math.max(0, Math.floor(batch))) as string[];
        for (const id of ids) {
          this.st.deleteRun.run(id);
          this.st.deleteClaims.run({ id, before: cutoff });
        }
        return ids.length;
      })
      .immediate();
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

  /** Jobs seen for the first time start counting from `at`; one transaction for any number. */
  initJobStates(jobs: readonly string[], at: Millis): void {
    this.db.transaction(() => {
      for (const job of jobs) if (!this.st.getJobState.get(job)) this.setLastScheduled(job, at);
    })();
  }

  setLastScheduled(job: string, at: Millis): void {
    this.st.setLastScheduled.run({ job, value: isoUtc(at) });
  }

  // ---- outbox --------------------------------------------------------------------------

  /** A key already pending for its sink is ignored (the first payload wins). */
  enqueueOutbox(entries: OutboxEntry[]): void {
    if (entries.length === 0) return;
    this.db.transaction(() => this.enqueue(entries)).immediate();
  }

  private enqueue(entries: readonly OutboxEntry[]): void {
    const now = isoUtc(this.clock.now());
    for (const entry of entries) {
      this.st.enqueue.run({
        sink: entry.sink,
        key: entry.key,
        payload: JSON.stringify(entry.payload ?? null),
        now,
      });
    }
  }

  takeOutbox(sink: OutboxSink, limit: number, now: Millis): OutboxItem[] {
    const rows = this.st.takeOutbox.all(sink, isoUtc(now), Math.max(0, Math.floor(limit))) as OutboxRow[];
    return rows.map(rowToOutboxItem);
  }

  ackOutbox(ids: number[]): void {
    if (ids.length === 0) return;
    this.db.transaction(() => this.ack(ids)).immediate();
  }

  private ack(ids: readonly number[]): void {
    for (const id of ids) this.st.ackOutbox.run(id);
  }

  retryOutbox(id: number, error: string, nextAttemptAt: Millis): void {
    this.st.retryOutbox.run({ id, error, next: isoUtc(nextAttemptAt) });
  }

  deadLetter(id: number, reason: string, now: Millis): void {
    this.db
      .transaction(() => {
        if (this.st.copyToDeadLetters.run({ id, reason, now: isoUtc(now) }).changes === 0) return;
        this.st.ackOutbox.run(id);
      })
      .immediate();
  }

  outboxBacklog(): Record<OutboxSink, number> {
    const backlog = Object.fromEntries(OUTBOX_SINKS.map((s) => [s, 0])) as Record<OutboxSink, number>;
    for (const row of this.st.outboxBacklog.all() as { sink: OutboxSink; n: number }[])
      backlog[row.sink] = row.n;
    return backlog;
  }

  listDeadLetters(sink?: OutboxSink, limit: number = STORE_DEFAULTS.deadLetterListLimit): DeadLetter[] {
    const rows = (
      sink === undefined
        ? this.st.listDeadLetters.all(limit)
        : this.st.listDeadLettersForSink.all(sink, limit)
    ) as DeadLetterRow[];
    return rows.map(rowToDeadLetter);
  }

  commitOutboxStep(step: OutboxStep): void {
    this.db
      .transaction(() => {
        this.ack(step.ack);
        this.enqueue(step.enqueue);
        for (const state of step.notifyStates) this.st.setNotifyState.run(notifyStateToRow(state));
      })
      .immediate();
  }

  // ---- notify state --------------------------------------------------------------------

  getNotifyState(job: string): NotifyState | undefined {
    const row = this.st.getNotifyState.get(job) as NotifyStateRow | undefined;
    return row && rowToNotifyState(row);
  }

  listNotifyStates(): NotifyState[] {
    return (this.st.listNotifyStates.all() as NotifyStateRow[]).map(rowToNotifyState);
  }

  setNotifyState(state: NotifyState): void {
    this.st.setNotifyState.run(notifyStateToRow(state));
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
