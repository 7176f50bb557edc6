/**
 * The AsyncStore over the synchronous SQLite store: the same statements, answered as Promises.
 * One connection serves every caller, so while a transaction() is open (across the awaits of
 * its body) every other operation waits for it to settle; inside it, the body's `tx` goes
 * straight to the connection.
 */
import type { Millis, RunRecord } from '../core/types.js';
import {
  SPOILED_TRANSACTION,
  type AsyncStore,
  type CancelRequest,
  type QueueEntry,
  type RunFinish,
  type RunStart,
  type RunStartFields,
  type StoreOps,
} from './async-store.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite.js';
import type {
  AuditRow,
  BaselineWrite,
  DependencyRound,
  FireClaim,
  NotifyState,
  OutboxEntry,
  OutboxSink,
  OutboxStep,
  OutputChunk,
  RunFilter,
} from './store.js';
import type { ResourceHoldingRow, ResourceWaiterRow } from './resource-rows.js';

export function openSqliteAsyncStore(options: SqliteStoreOptions): SqliteAsyncStore {
  return new SqliteAsyncStore(new SqliteStore(options));
}

/** Every operation of the store, each run through `run` (gated, or inside a transaction). */
abstract class SqliteOps implements StoreOps {
  constructor(protected readonly sync: SqliteStore) {}

  protected abstract run<T>(op: () => T): Promise<T>;

  claimFire = (claim: FireClaim) => this.run(() => this.sync.claimFire(claim));
  claimFires = (claims: readonly FireClaim[]) => this.run(() => this.sync.claimFires(claims));
  insertRun = (run: RunRecord, nodeKey?: string) => this.run(() => this.sync.insertRun(run, nodeKey));
  importRuns = (runs: readonly RunRecord[]) => this.run(() => this.sync.importRuns(runs));
  markStarted = (id: string, fields: RunStartFields) => this.run(() => this.sync.markStarted(id, fields));
  finishRun = (run: RunRecord, outbox: OutboxEntry[]) => this.run(() => this.sync.finishRun(run, outbox));
  markStartedMany = (starts: readonly RunStart[]) =>
    this.run(() =>
      this.sync.inTransaction(() => starts.forEach((s) => this.sync.markStarted(s.id, s.fields))),
    );
  finishRuns = (finishes: readonly RunFinish[]) =>
    this.run(() =>
      this.sync.inTransaction(() => finishes.forEach((f) => this.sync.finishRun(f.run, f.outbox))),
    );
  // One member: its every `running` run is its own (the member argument does not narrow).
  markRunningAsLost = (now: Millis, outboxFor: (run: RunRecord) => OutboxEntry[], _member?: string) =>
    this.run(() => this.sync.markRunningAsLost(now, outboxFor));

  getRun = (id: string) => this.run(() => this.sync.getRun(id));
  queryRuns = (filter: RunFilter) => this.run(() => this.sync.queryRuns(filter));
  countRunning = (job?: string) => this.run(() => this.sync.countRunning(job));

  getJobState = (job: string) => this.run(() => this.sync.getJobState(job));
  listJobStates = () => this.run(() => this.sync.listJobStates());
  setEnabledOverride = (job: string, enabled: boolean | null) =>
    this.run(() => this.sync.setEnabledOverride(job, enabled));
  setLastScheduled = (job: string, at: Millis) => this.run(() => this.sync.setLastScheduled(job, at));
  setBaselines = (items: readonly BaselineWrite[]) => this.run(() => this.sync.setBaselines(items));
  forgetBaseline = (job: string) => this.run(() => this.sync.forgetBaseline(job));

  takeOutbox = (sink: OutboxSink, limit: number, now: Millis) =>
    this.run(() => this.sync.takeOutbox(sink, limit, now));
  takeOutboxAfter = (sink: OutboxSink, afterId: number, limit: number, now: Millis) =>
    this.run(() => this.sync.takeOutboxAfter(sink, afterId, limit, now));
  ackOutbox = (ids: number[]) => this.run(() => this.sync.ackOutbox(ids));
  // One consumer: taking an item claims nothing, so there is nothing to release.
  releaseOutbox = (_ids: number[]) => this.run(() => undefined);
  retryOutbox = (id: number, error: string, next: Millis) =>
    this.run(() => this.sync.retryOutbox(id, error, next));
  deadLetter = (id: number, reason: string, now: Millis) =>
    this.run(() => this.sync.deadLetter(id, reason, now));
  outboxBacklog = () => this.run(() => this.sync.outboxBacklog());
  listDeadLetters = (sink?: OutboxSink, limit?: number) =>
    this.run(() => this.sync.listDeadLetters(sink, limit));
  enqueueOutbox = (entries: OutboxEntry[]) => this.run(() => this.sync.enqueueOutbox(entries));
  commitOutboxStep = (step: OutboxStep) => this.run(() => this.sync.commitOutboxStep(step));

  getNotifyState = (job: string) => this.run(() => this.sync.getNotifyState(job));
  listNotifyStates = () => this.run(() => this.sync.listNotifyStates());
  setNotifyState = (state: NotifyState) => this.run(() => this.sync.setNotifyState(state));

  insertAudit = (entry: Omit<AuditRow, 'id'>) => this.run(() => this.sync.insertAudit(entry));
  listAudit = (limit: number, before?: number) => this.run(() => this.sync.listAudit(limit, before));

  appendOutput = (chunks: readonly OutputChunk[]) => this.run(() => this.sync.appendOutput(chunks));
  readOutput = (runId: string, fromOffset: number, limit: number) =>
    this.run(() => this.sync.readOutput(runId, fromOffset, limit));

  lockResourcePools = (_pools: readonly string[]) => this.run(() => undefined);
  readResources = (since: Millis) => this.run(() => this.sync.resources.read(since));
  putResourceWaiter = (waiter: ResourceWaiterRow) => this.run(() => this.sync.resources.putWaiter(waiter));
  grantResources = (runId: string, holdings: readonly ResourceHoldingRow[], pruneUpTo: Millis) =>
    this.run(() => this.sync.inTransaction(() => this.sync.resources.grant(runId, holdings, pruneUpTo)));
  releaseResources = (runId: string) =>
    this.run(() => this.sync.inTransaction(() => this.sync.resources.release(runId)));
  releaseStaleResources = () =>
    this.run(() =>
      this.sync.resources.hasStale() ? this.sync.inTransaction(() => this.sync.resources.releaseStale()) : 0,
    );
  lastDependencyRound = (job: string) => this.run(() => this.sync.rounds.last(job));
  claimDependencyRound = (round: DependencyRound) => this.run(() => this.sync.rounds.claim(round));
  recentExecutionRuns = (job: string, after: Millis, limit: number) =>
    this.run(() => this.sync.rounds.recentExecutionRuns(job, after, limit));
  enqueueExecutions = (entries: readonly QueueEntry[]) =>
    this.run(() => this.sync.enqueueExecutions(entries));
  takeExecutions = (member: string, limit: number) => this.run(() => this.sync.takeExecutions(member, limit));
  endExecution = (executionId: string) => this.run(() => this.sync.endExecution(executionId));
  queueActivity = (jobs: readonly string[]) => this.run(() => this.sync.queueActivity(jobs));
  takeNodeSlot = (node: string, capacity: number, runId: string, member: string) =>
    this.run(() => this.sync.takeNodeSlot(node, capacity, runId, member));
  releaseNodeSlot = (runId: string) => this.run(() => this.sync.releaseNodeSlot(runId));
  nodeLoads = () => this.run(() => this.sync.nodeLoads());
  requestCancel = (request: CancelRequest) => this.run(() => this.sync.cancels.request(request));
  pendingCancels = (member: string) => this.run(() => this.sync.cancels.pending(member));

  pruneRuns = (before: Millis, batch: number) => this.run(() => this.sync.pruneRuns(before, batch));
}

/** The `tx` of one transaction: straight to the connection; any failure spoils the transaction. */
class SqliteTx extends SqliteOps {
  spoiled = false;
  open = true;

  protected async run<T>(op: () => T): Promise<T> {
    if (!this.open) throw new Error('store: tx used after its transaction() settled');
    try {
      return op();
    } catch (err) {
      this.spoiled = true;
      throw err;
    }
  }
}

export class SqliteAsyncStore extends SqliteOps implements AsyncStore {
  readonly kind = 'sqlite' as const;
  /** The open transaction, which every other operation waits for. */
  private gate: Promise<unknown> | null = null;

  /** No await when no transaction is open: the op must not slip into one begun meanwhile. */
  protected async run<T>(op: () => T): Promise<T> {
    while (this.gate) await this.gate.catch(() => undefined);
    return op();
  }

  /** The synchronous store underneath (for callers not yet converted, and SQLite-only tools). */
  get syncStore(): SqliteStore {
    return this.sync;
  }

  get path(): string {
    return this.sync.path;
  }

  async transaction<T>(body: (tx: StoreOps) => Promise<T>): Promise<T> {
    // Checked and taken without an await in between, so two transactions never interleave.
    while (this.gate) await this.gate.catch(() => undefined);
    const tx = new SqliteTx(this.sync);
    const settled = this.sync.batchAsync(async () => {
      try {
        const result = await body(tx);
        if (tx.spoiled) throw new Error(SPOILED_TRANSACTION);
        return result;
      } finally {
        tx.open = false;
      }
    });
    this.gate = settled;
    try {
      return await settled;
    } finally {
      if (this.gate === settled) this.gate = null;
    }
  }

  async close(): Promise<void> {
    await this.run(() => this.sync.close());
  }
}
