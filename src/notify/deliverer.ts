/**
 * Consumes one delivery sink (`email` or `webhook`): send, then ack. A failure is retried with
 * backoff or, when it cannot succeed, moved to the dead letters (see delivery-error.ts). A crash
 * between send and ack re-sends the message on restart with the same idempotency key, so the
 * receiver can drop the duplicate; no path drops a message unrecorded.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { AsyncStore } from '../store/async-store.js';
import type { OutboxItem } from '../store/store.js';
import { DeliveryError, onFailure, type RetryPolicy } from './delivery-error.js';

export interface DelivererOptions {
  sink: 'email' | 'webhook';
  store: AsyncStore;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
  retry: RetryPolicy;
  /** Messages sent in parallel per round. */
  batch: number;
  send: (item: OutboxItem) => Promise<void>;
  /** Target for log lines, without secrets (e.g. a webhook's origin). */
  describe: (item: OutboxItem) => string;
  /** Removes known secrets from error text before it is logged or stored. */
  scrub: (text: string) => string;
}

export class OutboxDeliverer {
  constructor(private readonly options: DelivererOptions) {}

  /** Sends what is due now; returns how many items were attempted. */
  async drain(): Promise<number> {
    const { store, sink, batch, clock } = this.options;
    const items = await store.takeOutbox(sink, batch, clock.now());
    await Promise.all(items.map((item) => this.deliver(item)));
    return items.length;
  }

  private async deliver(item: OutboxItem): Promise<void> {
    const { store, logger, sink } = this.options;
    try {
      await this.options.send(item);
    } catch (err) {
      await this.fail(
        item,
        err instanceof DeliveryError ? err : new DeliveryError(`${sink}: ${String(err)}`, false),
      );
      return;
    }
    await store.ackOutbox([item.id]);
    logger.info(
      { sink, key: item.key, to: this.options.describe(item), attempts: item.attempts + 1 },
      `notify: ${sink} delivered`,
    );
  }

  private async fail(item: OutboxItem, error: DeliveryError): Promise<void> {
    const { store, clock, retry, sink, logger, scrub } = this.options;
    const now = clock.now();
    const attempts = item.attempts + 1;
    const scrubbed = new DeliveryError(scrub(error.message), error.permanent);
    const verdict = onFailure(scrubbed, attempts, now - item.createdAt, now, retry);
    const context = {
      sink,
      key: item.key,
      to: this.options.describe(item),
      attempts,
      error: scrubbed.message,
    };
    if (verdict.action === 'retry') {
      await store.retryOutbox(item.id, scrubbed.message, verdict.at);
      logger.warn(
        { ...context, retryAt: new Date(verdict.at).toISOString() },
        `notify: ${sink} delivery failed; will retry`,
      );
      return;
    }
    await store.deadLetter(item.id, verdict.reason, now);
    this.options.metrics?.deadLetters.inc({ sink });
    logger.error(
      { ...context, reason: verdict.reason },
      `notify: ${sink} delivery given up; message moved to dead letters`,
    );
  }
}
