/**
 * A connection of its own that LISTENs for the run queue's notifications (SPEC §15). A pooled
 * connection cannot listen (it is handed to other queries), so this one is kept apart and, when
 * it drops (server restart, network), reconnects with backoff; meanwhile the members' polling
 * fallback keeps the queue moving, and every reconnect wakes once (a notification may have been
 * missed while it was down).
 */
import pg from 'pg';
import type { Logger } from '../core/log.js';
import { CANCEL_CHANNEL } from './cancels-sql.js';
import { QUEUE_CHANNEL, SLOTS_CHANNEL } from './postgres-queue.js';

const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

export interface ListenOptions {
  url: string;
  logger: Logger;
  connectTimeoutMs: number;
  onWake: () => void;
  /** A cancel was requested on some member (the run may execute here). */
  onCancel?: () => void;
}

/** Starts listening; resolves a stop function (idempotent) once the first attempt settled. */
export async function listenForQueue(o: ListenOptions): Promise<() => Promise<void>> {
  const listener = new QueueListener(o);
  await listener.connect();
  return () => listener.stop();
}

class QueueListener {
  private client: pg.Client | null = null;
  private backoffMs = FIRST_BACKOFF_MS;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private failing = false;

  constructor(private readonly o: ListenOptions) {}

  async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.o.url,
      connectionTimeoutMillis: this.o.connectTimeoutMs,
    });
    client.on('notification', (msg) =>
      msg.channel === CANCEL_CHANNEL ? this.o.onCancel?.() : this.o.onWake(),
    );
    client.on('error', (err) => this.dropped(client, err));
    client.on('end', () => this.dropped(client, new Error('connection ended')));
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${QUEUE_CHANNEL}`);
      await client.query(`LISTEN ${SLOTS_CHANNEL}`);
      await client.query(`LISTEN ${CANCEL_CHANNEL}`);
    } catch (err) {
      this.dropped(client, err);
      return;
    }
    if (this.failing) this.o.logger.info('run queue: listening for notifications again');
    this.failing = false;
    this.backoffMs = FIRST_BACKOFF_MS;
    this.o.onWake();
    this.o.onCancel?.();
  }

  private dropped(client: pg.Client, err: unknown): void {
    // Each connection is given up once (its 'error' and 'end' both come), an old one never.
    if (this.client !== client) return;
    this.client = null;
    client.removeAllListeners('end');
    void client.end().catch(() => undefined);
    if (this.stopped) return;
    if (!this.failing)
      this.o.logger.warn(
        { err },
        'run queue: notification connection lost; reconnecting (polling meanwhile)',
      );
    this.failing = true;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, this.backoffMs);
    this.timer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }
}
