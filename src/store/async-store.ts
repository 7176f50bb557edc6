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
  DependencyRound,
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
import type { ResourceHoldingRow, ResourceRows, ResourceWaiterRow } from './resource-rows.js';

/** Where a run starts: set when a queued run actually starts. */
export interface RunStart {
  id: string;
  fields: RunStartFields;
}

export interface RunFinish {
  run: RunRecord;
  outbox: OutboxEntry[];
}

export interface RunStartFields {
  node: string | null;
  host: string | null;
  started_at: string;
}

/**
 * An execution in the shared run queue (SPEC §15): the unit a member takes is a whole execution
 * (every run of one fire or manual run), so `max_parallel`, retries and cancelling stay with it.
 */
export interface QueueEntry {
  executionId: string;
  job: string;
  /** Taken only once every execution of the job queued before it has ended (overlap `queue`, a catch-up series). */
  afterPrevious: boolean;
  /** The definition as JSON, for runs no job file holds (ad-hoc commands); null: the member's own job. */
  jobDef: string | null;
}

/** An execution a member took: its runs still to execute (`running`, not started). */
export interface TakenExecution extends QueueEntry {
  runs: RunRecord[];
  /** Cancels asked of those runs before they were taken: such runs are recorded, never started. */
  cancels: CancelRequest[];
}

/**
 * A cancel asked through one member's API of a run that does not execute there (SPEC §15): it
 * waits in the store until the member executing the run (or taking it from the queue) acts on
 * it, and is deleted when the run becomes final. It only ever stops a run, never starts one.
 */
export interface CancelRequest {
  runId: string;
  /** Recorded as the cancelled run's error. */
  reason: string;
  requestedAt: string;
  /** The API token's name (null: no token). */
  requestedBy: string | null;
}

/** A job's executions in the queue, cluster-wide (the overlap policy reads it). */
export interface QueueActivity {
  /** Queued or executing. */
  executions: number;
  /** Waiting behind a previous execution (overlap `queue`), not taken yet. */
  waiting: number;
}

/** Every read and write of the store; inside a transaction, the `tx` handle has exactly these. */
export interface StoreOps {
  /** Resolves false (and writes nothing) when any of the claim keys already exists. */
  claimFire(claim: FireClaim): Promise<boolean>;
  /**
   * Several claims in one transaction: each is taken or found taken (false, writing nothing of
   * it); a store error rejects and stores none of them.
   */
  claimFires(claims: readonly FireClaim[], fence?: ClaimFence): Promise<boolean[]>;
  /**
   * Insert a run outside a scheduled fire (manual trigger, retry). With a nodeKey the run also
   * claims (job, scheduled_at or "execution:<id>", nodeKey, attempt); a taken key rejects with
   * ClaimConflictError and writes nothing.
   */
  insertRun(run: RunRecord, nodeKey?: string): Promise<void>;
  /** Bulk import in one transaction (benchmarks, tools); no claims, no job state. */
  importRuns(runs: readonly RunRecord[]): Promise<void>;
  markStarted(id: string, fields: RunStartFields): Promise<void>;
  /** Several starts at once (one statement on PostgreSQL); rejects naming a run that does not exist. */
  markStartedMany(starts: readonly RunStart[]): Promise<void>;
  /** Final update of a run + its outbox entries + job state, in one transaction. */
  finishRun(run: RunRecord, outbox: OutboxEntry[]): Promise<void>;
  /** Several finishes in one transaction, in order (a job's outcome is its last run here). */
  finishRuns(finishes: readonly RunFinish[]): Promise<void>;
  /**
   * Every `running` run becomes `lost` (with `member`: only that member's runs, on PostgreSQL);
   * resolves them (already final). The executions the member had taken (SQLite: every queued
   * one) leave the queue, their runs being final now, and its node slots are given back.
   */
  markRunningAsLost(
    now: Millis,
    outboxFor: (run: RunRecord) => OutboxEntry[],
    member?: string,
  ): Promise<RunRecord[]>;

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
  /**
   * Items taken but not attempted go back to the due items at once. On PostgreSQL a taken
   * delivery item is claimed by its taker (see OUTBOX_CLAIM_MS) until it is acked, retried,
   * dead-lettered or released, or the claim lapses; SQLite has one consumer and holds no claims.
   */
  releaseOutbox(ids: number[]): Promise<void>;
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

  /**
   * Resource pools (SPEC §16). Inside a transaction, first lock the pools it decides about
   * (PostgreSQL: their rows FOR UPDATE, in name order; SQLite: the transaction is the lock).
   */
  lockResourcePools(pools: readonly string[]): Promise<void>;
  /** Every holding and waiter, and the acquisitions after `since`. */
  readResources(since: Millis): Promise<ResourceRows>;
  /** Queues a run for its resources (again: its wants are updated, its place kept). */
  putResourceWaiter(waiter: ResourceWaiterRow): Promise<void>;
  /** The run stops waiting and holds these; acquisitions up to `pruneUpTo` are forgotten. */
  grantResources(runId: string, holdings: readonly ResourceHoldingRow[], pruneUpTo: Millis): Promise<void>;
  /** Everything the run holds or waits for is given back. */
  releaseResources(runId: string): Promise<void>;
  /** Holdings and waiters of runs that are no longer `running` (crashed, lost); resolves how many. */
  releaseStaleResources(): Promise<number>;
  /** The newest round of a dependent job (SPEC §16), or undefined before its baseline. */
  lastDependencyRound(job: string): Promise<DependencyRound | undefined>;
  /** Resolves false (writing nothing) when the (job, round) key is taken. */
  claimDependencyRound(round: DependencyRound): Promise<boolean>;
  /**
   * Without output: every run of the newest `limit` executions of `job` with a run (neither
   * skipped nor missed) that finished after `after`, in id order.
   */
  recentExecutionRuns(job: string, after: Millis, limit: number): Promise<RunRecord[]>;
  /** Puts executions in the run queue (their runs are inserted already); members are woken. */
  enqueueExecutions(entries: readonly QueueEntry[]): Promise<void>;
  /**
   * Takes up to `limit` waiting executions for `member` (oldest first, skipping those another
   * member is taking); their unstarted runs are recorded as this member's.
   */
  takeExecutions(member: string, limit: number): Promise<TakenExecution[]>;
  /** The execution ended (every run final): it leaves the queue; members are woken. */
  endExecution(executionId: string): Promise<void>;
  /** Each named job's executions in the run queue (a job with none: zeros), in one read. */
  queueActivity(jobs: readonly string[]): Promise<Map<string, QueueActivity>>;
  /** A slot on `node` for run `runId` while fewer than `capacity` runs hold one, cluster-wide. */
  takeNodeSlot(node: string, capacity: number, runId: string, member: string): Promise<boolean>;
  /** Gives the run's slot back (none held: nothing happens); members are woken. */
  releaseNodeSlot(runId: string): Promise<void>;
  /** Runs holding a slot per node, cluster-wide (nodes with none are left out). */
  nodeLoads(): Promise<Record<string, number>>;
  /**
   * Stores a cancel request of a `running` run (a second request keeps the first) and wakes the
   * members; resolves false, storing nothing, when the run is final or unknown.
   */
  requestCancel(request: CancelRequest): Promise<boolean>;
  /** The cancel requests of `member`'s runs that are still `running`. */
  pendingCancels(member: string): Promise<CancelRequest[]>;

  /** Deletes at most `batch` final runs (and their output chunks) that finished before `before`; resolves how many. */
  pruneRuns(before: Millis, batch: number): Promise<number>;
}

/**
 * The leader's proof for a claim (SPEC §15): the claim's transaction first checks that the lease
 * row still names `member` with `epoch` and has not expired by the database's clock, else the
 * claim rejects with NotLeaderError and stores nothing. SQLite (one member) ignores it.
 */
export interface ClaimFence {
  member: string;
  epoch: number;
}

/** A claim refused because its member no longer holds the lease with that epoch. */
export class NotLeaderError extends Error {
  constructor(fence: ClaimFence) {
    super(
      `store: member ${fence.member} no longer holds the leader lease of epoch ${fence.epoch}; claim refused`,
    );
    this.name = 'NotLeaderError';
  }
}

/** A member as it publishes itself in its heartbeat. */
export interface MemberInfo {
  id: string;
  listen: string | null;
  pid: number;
  host: string;
  startedAt: Millis;
  configHash: string | null;
  inFlight: number;
}

/** A member as listed: its heartbeat age is measured by the database's clock. */
export interface MemberRow extends MemberInfo {
  heartbeatAgeMs: number;
}

/** The lease after a tick: who leads, under which epoch; `expiresInMs` by the database clock. */
export interface LeaseState {
  holder: string | null;
  epoch: number;
  expiresInMs: number;
}

/** Several daemons on one database (PostgreSQL): heartbeats, the leader lease, dead members. */
export interface ClusterStore {
  heartbeat(member: MemberInfo): Promise<void>;
  /** Takes the lease when free or expired (epoch + 1), renews it when held; resolves the lease as it is now. */
  tryAcquireOrRenew(memberId: string, ttlMs: number): Promise<LeaseState>;
  /** Lets the lease expire now (a clean stop), when this member holds it. */
  releaseLease(memberId: string): Promise<void>;
  /** Members whose heartbeat is at most `withinMs` old. */
  listMembers(withinMs: number): Promise<MemberRow[]>;
  /** Deletes the rows of members silent longer than `olderThanMs`; resolves how many. */
  forgetMembers(olderThanMs: number): Promise<number>;
  /**
   * `running` runs of members whose heartbeat is older than `ttlMs` (or of no known member)
   * become `lost`, with their outbox entries, once; `except` (the caller) is never counted dead.
   * In the same transaction their executions go back to the run queue (runs not started yet are
   * taken again by another member), their node slots are given back, and `rerunOf` queues one
   * new attempt of a lost run at most.
   */
  markLostOfDeadMembers(
    ttlMs: number,
    except: string,
    now: Millis,
    outboxFor: (run: RunRecord) => OutboxEntry[],
    rerunOf?: RerunOf,
  ): Promise<RunRecord[]>;
  /**
   * Calls `onWake` when the run queue changed or a node slot was given back on any member, and
   * `onCancel` when a cancel was requested (LISTEN on a connection of its own, reconnecting with
   * backoff; after a reconnect both are called, a notification may have been missed). Resolves
   * a stop function.
   */
  watchQueue(onWake: () => void, onCancel?: () => void): Promise<() => Promise<void>>;
}

/** A job document written through the API and shared by the members (SPEC §15). */
export interface JobDocument {
  name: string;
  version: number;
  /** Where the file lives, relative to the jobs directory (`backup.json`, `team/backup.json`). */
  path: string;
  /** The file's text as the API validated it; null: the job was deleted. */
  document: string | null;
  /** The member whose API took the write. */
  writtenBy: string;
  writtenAt: string;
}

/**
 * What the members of a cluster share of the configuration: API-written job documents and
 * enable overrides, each write under the next version of one counter. The counter's row lock
 * makes versions commit in the order they are taken, so a reader that has seen version N has
 * seen every write up to N.
 */
export interface SharedConfigStore {
  /** The version of the last write (0: none yet). */
  version(): Promise<number>;
  /** Stores the latest document of a job (a null document: deleted); resolves its version. */
  writeDocument(doc: Omit<JobDocument, 'version'>): Promise<number>;
  /** Stores a job's enable override (null: none); resolves its version. */
  setEnabledOverride(job: string, enabled: boolean | null): Promise<number>;
  /** Each job's latest document written after `version`, in version order. */
  documentsAfter(version: number): Promise<JobDocument[]>;
}
/**
 * The new attempt of a run recorded lost whose job opts in (`rerun_lost`), and its claim's node
 * key (the node for `all`, "*" for `any`); null: not re-run.
 */
export type RerunOf = (lost: RunRecord) => { run: RunRecord; nodeKey: string } | null;

/** The handle a transaction body reads and writes through. */
export type StoreTx = StoreOps;

export type StoreKind = 'sqlite' | 'postgres';

export interface AsyncStore extends StoreOps {
  readonly kind: StoreKind;
  /** PostgreSQL only: the cluster's tables. SQLite is a one-member cluster of itself. */
  readonly cluster?: ClusterStore;
  /** PostgreSQL only: the configuration the members share. */
  readonly sharedConfig?: SharedConfigStore;
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
