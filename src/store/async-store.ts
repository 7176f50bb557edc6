/**
 * The asynchronous store interface (SPEC §15): one shape for SQLite (embedded default) and
 * PostgreSQL (several daemons on one database). The operations are those of the synchronous
 * `Store`, returning Promises; the synchronous `batch(writes)` becomes `transaction(body)`,
 * whose body gets a handle (`tx`) to read and write inside the one transaction.
 */
import type { Millis, RunRecord } from '../core/types.js';
import type {
  AuditRow,
  BaselineWrite,
  DeadLetter,
  FireClaim,
  JobState,
  NotifyState,
  OutboxEntry,
  OutboxItem,
  OutboxSink,
  OutboxStep,
  OutputChunk,
  RunFilter,
  RunPage,
} from './store.js';

/** Where a run starts: set when a queued run actually starts. */
export interface RunStartFields {
  node: string | null;
  host: string | null;
  started_at: string;
}

/** Every read and write of the store; inside a transaction, the `tx` handle has exactly these. */
export interface StoreOps {
  /** Resolves false (and writes nothing) when any of the claim keys already exists. */
  claimFire(claim: FireClaim): Promise<boolean>;
  /**
   * Several claims in one transaction: each is taken or found taken (false, writing nothing of
   * it); a store error rejects and stores none of them.
   */
  claimFires(claims: readonly FireClaim[]): Promise<boolean[]>;
  /**
   * Insert a run outside a scheduled fire (manual trigger, retry). With a nodeKey the run also
   * claims (job, scheduled_at or "execution:<id>", nodeKey, attempt); a taken key rejects with
   * ClaimConflictError and writes nothing.
   */
  insertRun(run: RunRecord, nodeKey?: string): Promise<void>;
  /** Bulk import in one transaction (benchmarks, tools); no claims, no job state. */
  importRuns(runs: readonly RunRecord[]): Promise<void>;
  markStarted(id: string, fields: RunStartFields): Promise<void>;
  /** Final update of a run + its outbox entries + job state, in one transaction. */
  finishRun(run: RunRecord, outbox: OutboxEntry[]): Promise<void>;
  /** Every `running` run becomes `lost`; resolves them (already final). */
  markRunningAsLost(now: Millis, outboxFor: (run: RunRecord) => OutboxEntry[]): Promise<RunRecord[]>;

  getRun(id: string): Promise<RunRecord | undefined>;
  /** Newest first; `since` inclusive, `until` exclusive; rejects with InvalidRunQueryError on bad input. */
  queryRuns(filter: RunFilter): Promise<RunPage>;
  countRunning(job?: string): Promise<number>;

  getJobState(job: string): Promise<JobState | undefined>;
  listJobStates(): Promise<JobState[]>;
  setEnabledOverride(job: string, enabled: boolean | null): Promise<void>;
  setLastScheduled(job: string, at: Millis): Promise<void>;
  setBaselines(items: readonly BaselineWrite[]): Promise<void>;
  forgetBaseline(job: string): Promise<void>;

  /** Items due (nextAttemptAt <= now), oldest first. */
  takeOutbox(sink: OutboxSink, limit: number, now: Millis): Promise<OutboxItem[]>;
  takeOutboxAfter(sink: OutboxSink, afterId: number, limit: number, now: Millis): Promise<OutboxItem[]>;
  ackOutbox(ids: number[]): Promise<void>;
  retryOutbox(id: number, error: string, nextAttemptAt: Millis): Promise<void>;
  deadLetter(id: number, reason: string, now: Millis): Promise<void>;
  outboxBacklog(): Promise<Record<OutboxSink, number>>;
  listDeadLetters(sink?: OutboxSink, limit?: number): Promise<DeadLetter[]>;
  /** A key already pending for its sink is ignored (the first payload wins). */
  enqueueOutbox(entries: OutboxEntry[]): Promise<void>;
  commitOutboxStep(step: OutboxStep): Promise<void>;

  getNotifyState(job: string): Promise<NotifyState | undefined>;
  listNotifyStates(): Promise<NotifyState[]>;
  setNotifyState(state: NotifyState): Promise<void>;

  insertAudit(entry: Omit<AuditRow, 'id'>): Promise<void>;
  listAudit(limit: number, before?: number): Promise<AuditRow[]>;

  /** Stores chunks of live output; a chunk already stored (same run and offset) is ignored. */
  appendOutput(chunks: readonly OutputChunk[]): Promise<void>;
  /** Chunks of a run that end after `fromOffset`, in offset order, at most `limit`. */
  readOutput(runId: string, fromOffset: number, limit: number): Promise<OutputChunk[]>;

  /** Deletes at most `batch` final runs (and their output chunks) that finished before `before`; resolves how many. */
  pruneRuns(before: Millis, batch: number): Promise<number>;
}

/** The handle a transaction body reads and writes through. */
export type StoreTx = StoreOps;

export type StoreKind = 'sqlite' | 'postgres';

export interface AsyncStore extends StoreOps {
  readonly kind: StoreKind;
  /**
   * Runs `body` in one transaction, all or nothing: when `body` rejects, or any operation on
   * `tx` fails (even one whose error `body` caught), nothing of it is stored and transaction()
   * rejects; otherwise it commits and resolves what `body` resolved. Inside `body` use only
   * `tx`: awaiting the store itself there waits for the transaction (SQLite) or runs outside it
   * (PostgreSQL). A claim found taken inside (`tx.claimFire` resolving false) writes nothing of
   * itself and does not undo the rest.
   */
  transaction<T>(body: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** Why transaction() rejects when its body caught the error of a failed operation. */
export const SPOILED_TRANSACTION =
  'store: an operation inside transaction() failed; the whole transaction is undone';
