import { systemClock, type Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { AsyncStore } from '../store/async-store.js';
import type { OutboxItem } from '../store/store.js';
import { backoffDelay } from './backoff.js';
import { buildBulkBatch, type BulkBatch } from './batch.js';
import {
  describeEsError,
  EsApi,
  isTransientItemStatus,
  type EsAuth,
  type BulkItemOutcome,
} from './es-api.js';
import { errors } from '@elastic/elasticsearch';

export interface EsShipperOptions {
  store: AsyncStore;
  /** Cluster URL (`--es-url` / ELASTICSEARCH_URL). */
  url: string;
  auth?: EsAuth;
  caFile?: string;
  /** Documents per bulk request. */
  batchSize?: number;
  /**
   * Bulk requests in flight at once: Elasticsearch indexes them on separate write threads, and
   * the shipper builds the next one meanwhile, so neither side waits for the other.
   */
  concurrency?: number;
  /** Bytes per bulk request (a single larger document still goes alone). */
  batchBytes?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Longest idle wait between outbox polls when nobody calls notify(). */
  pollIntervalMs?: number;
  /** After notify() wakes an idle shipper, wait this long so runs finishing together share a bulk. */
  lingerMs?: number;
  /** How long close() keeps shipping what is due before it gives up (the rest stays queued). */
  flushTimeoutMs?: number;
  requestTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
  metrics?: Metrics;
  random?: () => number;
}

export const ES_SHIPPER_DEFAULTS = {
  batchSize: 1000,
  concurrency: 4,
  batchBytes: 5 * 1024 * 1024,
  minBackoffMs: 500,
  maxBackoffMs: 60_000,
  pollIntervalMs: 5_000,
  lingerMs: 50,
  flushTimeoutMs: 3_000,
  requestTimeoutMs: 30_000,
} as const;

export interface EsShipperStatus {
  templateInstalled: boolean;
  /** Consecutive failed requests (0 = the last request succeeded). */
  failures: number;
  lastError: string | null;
  shipped: number;
  deadLettered: number;
  apiCompatibility: 8 | 9;
}

const SINK = 'elasticsearch';
type Settings = Required<Omit<EsShipperOptions, 'auth' | 'caFile' | 'metrics' | 'store' | 'url'>>;

/**
 * Ships finished runs from the SQLite outbox to Elasticsearch in bulk, `_id` = run id (an
 * `index` op, so a replay after a crash overwrites instead of duplicating). An item leaves the
 * outbox only when Elasticsearch stored it or refused it for good (then: dead-letter table).
 */
export class EsShipper {
  private readonly api: EsApi;
  private readonly settings: Settings;
  private readonly store: AsyncStore;
  private readonly metrics: Metrics | undefined;
  private loop: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private closeDeadline = Infinity;
  private wakeRequested = false;
  private idleWait = new AbortController();
  private readonly requests = new AbortController();
  /** Aborted as soon as close() is called: backoff waits end, in-flight requests do not. */
  private readonly waits = new AbortController();
  private readonly state: EsShipperStatus = {
    templateInstalled: false,
    failures: 0,
    lastError: null,
    shipped: 0,
    deadLettered: 0,
    apiCompatibility: 9,
  };

  constructor(options: EsShipperOptions) {
    // Connection details (credentials included) go to the client only, never into settings.
    const { store, url, auth, caFile, metrics, ...tuning } = options;
    this.store = store;
    this.metrics = metrics;
    this.settings = {
      ...ES_SHIPPER_DEFAULTS,
      clock: systemClock,
      logger: silentLogger(),
      random: Math.random,
      ...definedOnly(tuning),
    };
    this.api = new EsApi({ url, auth, caFile, requestTimeoutMs: this.settings.requestTimeoutMs });
  }

  /** Installs the template, then ships; never throws — an unreachable cluster is retried in the background. */
  start(): void {
    if (this.loop || this.closing) return;
    this.loop = this.run().catch((err: unknown) => {
      this.settings.logger.error(
        { err: describeEsError(err) },
        'report: Elasticsearch shipper stopped on a bug',
      );
    });
  }

  /** New outbox items were committed: ship them now instead of at the next poll. */
  notify(): void {
    this.wakeRequested = true;
    this.idleWait.abort();
  }

  status(): EsShipperStatus {
    return { ...this.state, apiCompatibility: this.api.apiCompatibility };
  }

  /** Idempotent. Ships what is due for at most `flushTimeoutMs`; the rest stays in the outbox. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closeDeadline = this.settings.clock.now() + this.settings.flushTimeoutMs;
    const timer = setTimeout(() => this.requests.abort(), this.settings.flushTimeoutMs);
    this.idleWait.abort();
    this.waits.abort();
    await this.loop;
    clearTimeout(timer);
    this.requests.abort();
    await this.api.close();
  }

  private shouldStop(): boolean {
    return this.closing !== null && this.settings.clock.now() >= this.closeDeadline;
  }

  private async run(): Promise<void> {
    if (!(await this.installTemplate())) return;
    while (!this.shouldStop()) {
      const outcome = await this.shipOnce().catch((err: unknown) => {
        this.failed(err, 'report: outbox step failed; will retry with backoff');
        return 'failed' as const;
      });
      if (this.closing && outcome !== 'shipped') return;
      if (outcome === 'idle') await this.waitIdle(this.settings.pollIntervalMs);
      if (outcome === 'failed') await this.waitBackoff();
    }
  }

  /** Retries until installed; false when closed first. */
  private async installTemplate(): Promise<boolean> {
    while (!this.closing) {
      try {
        const result = await this.api.installTemplate(this.requests.signal);
        this.settings.logger.info({ result }, 'report: Elasticsearch index template distcron-runs ready');
        this.state.templateInstalled = true;
        this.succeeded();
        return true;
      } catch (err) {
        if (isForbidden(err)) return this.shipWithoutTemplateRights(err);
        this.failed(err, 'report: cannot install the index template yet; retrying (jobs keep running)');
        await this.waitBackoff();
      }
    }
    return false;
  }

  private shipWithoutTemplateRights(err: unknown): boolean {
    this.settings.logger.warn(
      { err: describeEsError(err) },
      'report: no right to manage index templates; shipping anyway — run `distcron es-setup` with an admin key',
    );
    return true;
  }

  /**
   * One pass over what is due: keeps up to `concurrency` bulk requests in flight, building the
   * next one while the others are indexed. Each request reads on past the ones in flight
   * (outbox cursor), so no item is ever in two requests; the pass ends when nothing more is due,
   * or at the first request that fails as a whole, once every request in flight has finished.
   * After a failure, one request at a time probes the cluster until one succeeds.
   */
  private async shipOnce(): Promise<'idle' | 'shipped' | 'failed'> {
    const inFlight = new Set<Promise<void>>();
    let cursor = 0;
    const failures: unknown[] = [];
    try {
      while (failures.length === 0 && !this.shouldStop()) {
        if (inFlight.size >= (this.state.failures > 0 ? 1 : this.settings.concurrency)) {
          await Promise.race(inFlight);
          continue;
        }
        const batch = await this.nextBatch(cursor);
        if (batch === null) break;
        cursor = batch.lastId;
        const request: Promise<void> = this.shipBatch(batch)
          .catch((err: unknown) => void failures.push(err))
          .finally(() => inFlight.delete(request));
        inFlight.add(request);
      }
    } finally {
      await Promise.all(inFlight);
    }
    await this.updateBacklog();
    if (failures.length === 0) return cursor === 0 ? 'idle' : 'shipped';
    this.reportFailure(failures[0]);
    return 'failed';
  }

  /** One failure per pass, however many requests were in flight when the cluster went away. */
  private reportFailure(err: unknown): void {
    if (err instanceof BulkRequestFailed)
      this.failed(err.cause, 'report: bulk request to Elasticsearch failed; will retry with backoff');
    else this.failed(err, 'report: outbox step failed; will retry with backoff');
  }

  /** The next due items after `cursor` as one bulk body, or null when none are due. */
  private async nextBatch(cursor: number): Promise<(BulkBatch & { lastId: number }) | null> {
    const { batchSize, batchBytes, clock } = this.settings;
    const items =
      cursor === 0
        ? await this.store.takeOutbox(SINK, batchSize, clock.now())
        : await this.store.takeOutboxAfter(SINK, cursor, batchSize, clock.now());
    if (items.length === 0) return null;
    const batch = buildBulkBatch(items, batchBytes);
    // The batch uses a prefix of `items` (the byte cap may leave the rest): read on after it,
    // and let the rest go (in a cluster they are claimed by this member until released).
    const used = batch.items.length + batch.invalid.length;
    await this.store.releaseOutbox(items.slice(used).map((i) => i.id));
    return { ...batch, lastId: items[used - 1]!.id };
  }

  /** Dead-letters the invalid items, sends the rest; throws BulkRequestFailed when the request failed as a whole. */
  private async shipBatch(batch: BulkBatch): Promise<void> {
    for (const bad of batch.invalid) await this.deadLetter(bad.item, bad.reason);
    if (batch.items.length === 0) return;
    let outcomes: BulkItemOutcome[];
    try {
      outcomes = await this.api.bulk(batch.lines, this.requests.signal);
      if (outcomes.length !== batch.items.length) throw new Error(`bulk answered ${outcomes.length} items`);
    } catch (err) {
      // Due again at once for the next pass (which waits its backoff), whichever member takes it.
      await this.store.releaseOutbox(batch.items.map((i) => i.id)).catch(() => undefined);
      throw new BulkRequestFailed(err);
    }
    this.succeeded();
    await this.applyOutcomes(batch, outcomes);
  }

  private async applyOutcomes(batch: BulkBatch, outcomes: BulkItemOutcome[]): Promise<void> {
    const acked: number[] = [];
    const now = this.settings.clock.now();
    for (const [i, outcome] of outcomes.entries()) {
      const item = batch.items[i]!;
      if (outcome.status >= 200 && outcome.status < 300) acked.push(item.id);
      else if (isTransientItemStatus(outcome.status, outcome.error))
        await this.retryLater(item, outcome, now);
      else await this.deadLetter(item, `HTTP ${outcome.status} ${outcome.error ?? 'refused'}`);
    }
    await this.store.ackOutbox(acked);
    this.state.shipped += acked.length;
  }

  private async retryLater(item: OutboxItem, outcome: BulkItemOutcome, now: number): Promise<void> {
    const { minBackoffMs, maxBackoffMs, random } = this.settings;
    const delay = backoffDelay(item.attempts + 1, minBackoffMs, maxBackoffMs, random);
    await this.store.retryOutbox(
      item.id,
      `HTTP ${outcome.status} ${outcome.error ?? ''}`.trim(),
      now + delay,
    );
  }

  private async deadLetter(item: OutboxItem, reason: string): Promise<void> {
    await this.store.deadLetter(item.id, reason, this.settings.clock.now());
    this.state.deadLettered++;
    this.metrics?.deadLetters.inc({ sink: SINK });
    this.settings.logger.error(
      { key: item.key, reason },
      'report: Elasticsearch refused a run; moved to dead letters',
    );
  }

  private async updateBacklog(): Promise<void> {
    if (this.metrics)
      this.metrics.outboxBacklog.set({ sink: SINK }, (await this.store.outboxBacklog())[SINK]);
  }

  private succeeded(): void {
    if (this.state.failures > 0)
      this.settings.logger.info({ after: this.state.failures }, 'report: Elasticsearch reachable again');
    this.state.failures = 0;
    this.state.lastError = null;
  }

  private failed(err: unknown, message: string): void {
    this.state.failures++;
    this.state.lastError = describeEsError(err);
    this.settings.logger.warn({ err: this.state.lastError, failures: this.state.failures }, message);
  }

  private async waitIdle(ms: number): Promise<void> {
    if (!this.wakeRequested && !this.closing) {
      this.idleWait = new AbortController();
      await this.settings.clock.sleep(ms, this.idleWait.signal);
    }
    if (this.wakeRequested && !this.closing)
      await this.settings.clock.sleep(this.settings.lingerMs, this.waits.signal);
    this.wakeRequested = false;
  }

  /** Not shortened by notify(): new items do not make a down cluster come back sooner. */
  private async waitBackoff(): Promise<void> {
    if (this.closing) return;
    const { minBackoffMs, maxBackoffMs, random } = this.settings;
    const delay = backoffDelay(this.state.failures, minBackoffMs, maxBackoffMs, random);
    await this.settings.clock.sleep(delay, this.waits.signal);
  }
}

/** A whole bulk request failed (its items stay queued), as opposed to a store error. */
class BulkRequestFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('report: bulk request failed');
  }
}

function isForbidden(err: unknown): boolean {
  return err instanceof errors.ResponseError && err.statusCode === 403;
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
