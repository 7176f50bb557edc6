import type { Millis, RunRecord, RunStatus, Trigger } from '../core/types.js';
import type { QueueEntry } from './async-store.js';

/** What a run found `running` when its daemon stopped (or its member died) is left with. */
export const LOST_RUN_ERROR = 'daemon stopped while the run was in flight';

/** insertRun found the (job, scheduled instant, node, attempt) key already taken. */
export class ClaimConflictError extends Error {}

/** Sinks fed from the outbox in the same transaction that finishes a run. */
export type OutboxSink = 'elasticsearch' | 'notify' | 'email' | 'webhook';

export interface OutboxItem {
  id: number;
  sink: OutboxSink;
  /** Idempotency key, unique per sink (e.g. the run id for Elasticsearch). */
  key: string;
  payload: unknown;
  attempts: number;
  nextAttemptAt: Millis;
  lastError: string | null;
  createdAt: Millis;
}

export interface OutboxEntry {
  sink: OutboxSink;
  key: string;
  payload: unknown;
}

export interface JobState {
  job: string;
  /** The last scheduled instant this daemon claimed (fired, skipped or missed). */
  lastScheduledAt: Millis | null;
  /** API enable/disable override; null = follow the file's `enabled`. */
  enabledOverride: boolean | null;
  lastStatus: RunStatus | null;
  lastRunId: string | null;
  lastFinishedAt: Millis | null;
  /** The schedule `lastScheduledAt` was counted under (see scheduleKey); null before it was kept. */
  scheduleKey: string | null;
}

/** A job's schedule baseline to store; `at` null keeps the stored instant (records the key only). */
export interface BaselineWrite {
  job: string;
  key: string;
  at: Millis | null;
}

/**
 * A scheduled fire, claimed atomically: the runs are inserted (status `running`, or a final
 * status such as `skipped`/`missed`) and the job's last scheduled instant advances in one
 * transaction. Claims are unique per (job, scheduledAt, nodeKey, attempt) — nodeKey is the node
 * name for `all` jobs and "*" for `any` jobs — so the same fire can never run twice, across
 * restarts and (later) across daemons sharing one database.
 */
export interface FireClaim {
  job: string;
  scheduledAt: Millis;
  /** New last scheduled instant for the job (usually scheduledAt). */
  advanceTo: Millis;
  runs: { run: RunRecord; nodeKey: string }[];
  /** Outbox entries for runs inserted already final (missed/skipped/error). */
  outbox?: OutboxEntry[];
  /** The execution that runs the claimed runs, queued in the same transaction (SPEC §15). */
  queue?: QueueEntry;
}

/** The execution of a parent a dependency round counted (SPEC §16). */
export interface ConsumedCompletion {
  executionId: string;
  /** When its last host run finished. */
  completedAt: Millis;
  runIds: string[];
}

/**
 * One round of a dependent job, claimed once: unique per (job, round), so a restart or two
 * members never fire it twice. Round 0 is the baseline written when the job is first seen
 * (parent completions before it do not count); later rounds record what they consumed.
 */
export interface DependencyRound {
  job: string;
  round: number;
  firedAt: Millis;
  /** The child's execution; null for the baseline and for a round passed over while disabled. */
  executionId: string | null;
  /** Parent name → the completion this round consumed. */
  parents: Record<string, ConsumedCompletion>;
}

export interface RunFilter {
  job?: string;
  node?: string;
  status?: RunStatus;
  trigger?: Trigger;
  /** ISO-8601; compares against started_at, falling back to scheduled_at. */
  since?: string;
  until?: string;
  /** Opaque cursor from a previous page. */
  cursor?: string;
  limit: number;
  /** Leave stdout/stderr out of list results (they can be large). */
  withOutput?: boolean;
}

export interface RunPage {
  runs: RunRecord[];
  nextCursor: string | null;
}

/** One API write kept in the audit table. */
export interface AuditRow {
  id: number;
  at: string;
  token: string | null;
  action: string;
  target: string;
  address: string | null;
  status: number;
}

export interface NotifyState {
  job: string;
  state: 'ok' | 'failing';
  /** When the job entered this state. */
  since: Millis;
  lastNotifiedAt: Millis | null;
  lastReminderAt: Millis | null;
  /** Flood guard: start of the current one-hour window and messages sent in it. */
  floodWindowStart: Millis | null;
  floodCount: number;
}

/** One atomic step of an outbox consumer (e.g. a finished run turned into e-mail deliveries). */
export interface OutboxStep {
  ack: number[];
  enqueue: OutboxEntry[];
  notifyStates: NotifyState[];
}

export interface DeadLetter {
  id: number;
  sink: OutboxSink;
  key: string;
  payload: unknown;
  reason: string;
  createdAt: Millis;
}

/**
 * Persistence for runs, job state and outboxes. SQLite today (better-sqlite3, WAL); the
 * interface is synchronous-free of SQLite types so a PostgreSQL implementation can sit beside it.
 */
/**
 * One piece of a run's live output (SPEC §17). `offset` is the byte offset of its text in the
 * run's combined output: the UTF-8 bytes of every chunk of both streams, in arrival order.
 * The next chunk starts at `offset + byteLength(text)` unless output was left out of the store
 * by the output cap (a gap).
 */
export interface OutputChunk {
  run_id: string;
  offset: number;
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface Store {
  /** Returns false (and writes nothing) when any of the claim keys already exists. */
  claimFire(claim: FireClaim): boolean;
  /**
   * Several claims in one transaction: each is taken or found taken (false, writing nothing of
   * it); a store error throws and stores none of them.
   */
  claimFires(claims: readonly FireClaim[]): boolean[];
  /** Insert a run outside a scheduled fire (manual trigger, retry). */
  insertRun(run: RunRecord, nodeKey?: string): void;
  /**
   * Several writes with one commit, all or nothing: when `writes` throws, or any write inside
   * it fails (even if `writes` catches the error), none is stored and batch() throws. A caller
   * that must store the others despite one bad write retries them one by one. Returns what
   * `writes` returns; a batch inside a batch is part of the outer one.
   */
  batch<T>(writes: () => T): T;
  /** Set node/host/started_at when a queued run actually starts. */
  markStarted(id: string, fields: { node: string | null; host: string | null; started_at: string }): void;
  /** Final update of a run + its outbox entries + job state, in one transaction. */
  finishRun(run: RunRecord, outbox: OutboxEntry[]): void;
  /** At start-up: every `running` run becomes `lost`; returns them (already final). */
  markRunningAsLost(now: Millis, outboxFor: (run: RunRecord) => OutboxEntry[]): RunRecord[];

  getRun(id: string): RunRecord | undefined;
  queryRuns(filter: RunFilter): RunPage;
  countRunning(job?: string): number;

  getJobState(job: string): JobState | undefined;
  listJobStates(): JobState[];
  setEnabledOverride(job: string, enabled: boolean | null): void;
  setLastScheduled(job: string, at: Millis): void;
  /** Sets schedule baselines (instant and schedule key) of any number of jobs in one transaction. */
  setBaselines(items: readonly BaselineWrite[]): void;
  /** The job left the config: its last scheduled instant and schedule key are forgotten. */
  forgetBaseline(job: string): void;

  /** Items due (nextAttemptAt <= now), oldest first. */
  takeOutbox(sink: OutboxSink, limit: number, now: Millis): OutboxItem[];
  /** Like takeOutbox, only items with id > afterId: reads on past items a consumer has in flight. */
  takeOutboxAfter(sink: OutboxSink, afterId: number, limit: number, now: Millis): OutboxItem[];
  ackOutbox(ids: number[]): void;
  retryOutbox(id: number, error: string, nextAttemptAt: Millis): void;
  deadLetter(id: number, reason: string, now: Millis): void;
  outboxBacklog(): Record<OutboxSink, number>;
  listDeadLetters(sink?: OutboxSink, limit?: number): DeadLetter[];
  enqueueOutbox(entries: OutboxEntry[]): void;

  /** Ack, enqueue and state changes of one consumer step, in one transaction. */
  commitOutboxStep(step: OutboxStep): void;

  getNotifyState(job: string): NotifyState | undefined;
  listNotifyStates(): NotifyState[];
  setNotifyState(state: NotifyState): void;

  /** Appends one API write to the audit table. */
  insertAudit(entry: Omit<AuditRow, 'id'>): void;
  /** Stores chunks of live output; a chunk already stored (same run and offset) is ignored. */
  appendOutput(chunks: readonly OutputChunk[]): void;
  /** Chunks of a run that end after `fromOffset`, in order, at most `limit`. */
  readOutput(runId: string, fromOffset: number, limit: number): OutputChunk[];
  /** Newest first, only ids below `before` when given. */
  listAudit(limit: number, before?: number): AuditRow[];

  /** Deletes at most `batch` finished runs that finished before `before`; returns how many. */
  pruneRuns(before: Millis, batch: number): number;

  /** Idempotent. */
  close(): void;
}
