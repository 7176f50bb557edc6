/**
 * The notifier: four self-rescheduling loops over the store.
 *   notify    — finished runs / host-key changes → email and webhook entries (planner.ts)
 *   reminders — still_failing reminders for failing jobs, woken when the next one is due
 *   email     — sends `email` entries over SMTP
 *   webhook   — POSTs `webhook` entries
 * Each loop sleeps on the injected clock (capped, re-reading the clock) and is woken early by
 * notify() or by the loop that queued work for it. close() wakes them all and waits for the
 * messages in flight (bounded by the SMTP and webhook timeouts).
 */
import { systemClock, type Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { JobDef } from '../core/types.js';
import type { AsyncStore } from '../store/async-store.js';
import type { OutboxItem } from '../store/store.js';
import { DEFAULT_RETRY, DeliveryError, scrub, type RetryPolicy } from './delivery-error.js';
import { OutboxDeliverer } from './deliverer.js';
import { SmtpMailer, type SmtpOptions } from './email.js';
import { HOUR_MS } from './events.js';
import type { EmailPayload, WebhookPayload } from './message.js';
import { NotifyPlanner } from './planner.js';
import { emailHtml, emailSubject, emailText, webhookBody, type RenderContext } from './render.js';
import { postWebhook, webhookOrigin } from './webhook.js';

export interface NotifierOptions {
  store: AsyncStore;
  clock?: Clock;
  logger?: Logger;
  metrics?: Metrics;
  /** Without it no e-mail is produced (webhooks still work). */
  smtp?: SmtpOptions;
  /** Receives host_key_changed. */
  adminEmail?: string;
  /** Base of run links in messages, e.g. http://127.0.0.1:8080. */
  apiBaseUrl: string;
  /** Daemon default between still_failing reminders; a job's notify.remindEveryMs wins; 0 = off. */
  remindEveryMs?: number;
  /** Notifications per job per hour; 0 = no limit. */
  floodPerHour?: number;
  /** Idle poll of the outbox (retries that became due). */
  pollMs?: number;
  webhookTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Value of a webhook's secret_env (default: process.env). */
  resolveSecretEnv?: (name: string) => string | undefined;
  /** The daemon's current job definitions: reminders, and inline webhook secrets at send time. */
  jobs?: (name: string) => JobDef | undefined;
  /**
   * Whether this daemon queues the still_failing reminders now (default: always). In a cluster
   * only the leader does: every member reads the same states, and one reminder is enough.
   */
  remindsHere?: () => boolean;
}

export const NOTIFIER_DEFAULTS = {
  remindEveryMs: 24 * HOUR_MS,
  floodPerHour: 20,
  pollMs: 1000,
  /** Longest sleep of the reminder loop before it re-reads the clock and the states. */
  reminderScanMaxMs: 60_000,
  webhookTimeoutMs: 10_000,
  /** Items per planner round and messages sent in parallel per sink. */
  batch: 8,
  /** Finished runs the planner turns into messages per round (an `all` fan-out finishes hundreds at once). */
  planBatch: 256,
  /** notify() waits this long so a burst of finished runs is planned in one round, not one round each. */
  lingerMs: 50,
} as const;

/** Wakes a sleeping loop early; a wake while the loop is busy makes its next sleep return at once. */
class Waker {
  private pending = false;
  private controller: AbortController | null = null;
  constructor(private readonly clock: Clock) {}

  wake(): void {
    this.pending = true;
    this.controller?.abort();
  }

  async sleep(ms: number): Promise<void> {
    if (!this.pending) {
      this.controller = new AbortController();
      await this.clock.sleep(ms, this.controller.signal);
      this.controller = null;
    }
    this.pending = false;
  }
}

type LoopName = 'notify' | 'reminders' | 'email' | 'webhook';

export class Notifier {
  private readonly store: AsyncStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly settings: Required<
    Pick<NotifierOptions, 'remindEveryMs' | 'floodPerHour' | 'pollMs' | 'webhookTimeoutMs'>
  >;
  private readonly mailer: SmtpMailer | null;
  private readonly planner: NotifyPlanner;
  private readonly deliverers: Record<'email' | 'webhook', OutboxDeliverer>;
  private readonly wakers: Record<LoopName, Waker>;
  private readonly secrets = new Set<string>();
  private readonly render: RenderContext;
  private loops: Promise<void>[] = [];
  private started = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  private lingerTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: NotifierOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger();
    this.settings = {
      remindEveryMs: options.remindEveryMs ?? NOTIFIER_DEFAULTS.remindEveryMs,
      floodPerHour: options.floodPerHour ?? NOTIFIER_DEFAULTS.floodPerHour,
      pollMs: options.pollMs ?? NOTIFIER_DEFAULTS.pollMs,
      webhookTimeoutMs: options.webhookTimeoutMs ?? NOTIFIER_DEFAULTS.webhookTimeoutMs,
    };
    this.mailer = options.smtp ? new SmtpMailer(options.smtp) : null;
    for (const s of this.mailer?.secrets() ?? []) this.secrets.add(s);
    this.render = { apiBaseUrl: options.apiBaseUrl };
    this.planner = new NotifyPlanner({
      store: this.store,
      logger: this.logger,
      floodPerHour: this.settings.floodPerHour,
      remindEveryMs: this.settings.remindEveryMs,
      email: this.mailer !== null,
      ...(options.adminEmail ? { adminEmail: options.adminEmail } : {}),
      ...(options.jobs ? { jobs: options.jobs } : {}),
    });
    this.wakers = {
      notify: new Waker(this.clock),
      reminders: new Waker(this.clock),
      email: new Waker(this.clock),
      webhook: new Waker(this.clock),
    };
    this.deliverers = { email: this.deliverer('email'), webhook: this.deliverer('webhook') };
  }

  private deliverer(sink: 'email' | 'webhook'): OutboxDeliverer {
    return new OutboxDeliverer({
      sink,
      store: this.store,
      clock: this.clock,
      logger: this.logger,
      ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
      retry: { ...DEFAULT_RETRY, ...this.options.retry },
      batch: NOTIFIER_DEFAULTS.batch,
      send: sink === 'email' ? (item) => this.sendEmail(item) : (item) => this.sendWebhook(item),
      describe:
        sink === 'email'
          ? (item) => (item.payload as EmailPayload).to
          : (item) => webhookOrigin((item.payload as WebhookPayload).webhook.url),
      scrub: (text) => scrub(text, this.secrets),
    });
  }

  /** Starts the loops (idempotent). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    if (this.mailer) this.logger.info({ smtp: this.mailer.describe() }, 'notify: e-mail notifications on');
    else this.logger.info('notify: no --smtp-url set; e-mail notifications are off (webhooks still work)');
    if (this.options.adminEmail && !this.mailer)
      this.logger.warn('notify: --admin-email is set but no --smtp-url; host-key alerts cannot be mailed');
    this.loops = [
      this.loop(
        'notify',
        () => this.planStep(),
        () => this.settings.pollMs,
      ),
      this.loop(
        'reminders',
        () => this.reminderStep(),
        () => this.reminderSleepMs(),
      ),
      this.loop(
        'email',
        () => this.deliverers.email.drain(),
        () => this.settings.pollMs,
      ),
      this.loop(
        'webhook',
        () => this.deliverers.webhook.drain(),
        () => this.settings.pollMs,
      ),
    ];
  }

  /** New `notify` items were queued: process them now rather than at the next poll. */
  notify(): void {
    if (this.lingerTimer || this.closed) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      this.wakers.notify.wake();
    }, NOTIFIER_DEFAULTS.lingerMs);
    this.lingerTimer.unref();
  }

  /** Stops the loops after the messages in flight (idempotent). */
  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      if (this.lingerTimer) clearTimeout(this.lingerTimer);
      for (const waker of Object.values(this.wakers)) waker.wake();
      this.closing = Promise.all(this.loops).then(() => this.mailer?.close());
    }
    return this.closing;
  }

  private async loop(
    name: LoopName,
    step: () => number | Promise<number>,
    idleMs: () => number | Promise<number>,
  ): Promise<void> {
    while (!this.closed) {
      let worked = 0;
      try {
        worked = await step();
      } catch (err) {
        this.logger.error(
          { loop: name, err: scrub(String(err), this.secrets) },
          `notify: ${name} loop step failed; retrying after the poll interval`,
        );
      }
      if (this.closed) break;
      if (worked === 0) await this.wakers[name].sleep(await this.idleOf(name, idleMs));
    }
  }

  /** How long a loop sleeps; a store error reading it sleeps the poll interval. */
  private async idleOf(name: LoopName, idleMs: () => number | Promise<number>): Promise<number> {
    try {
      return await idleMs();
    } catch (err) {
      this.logger.error(
        { loop: name, err: scrub(String(err), this.secrets) },
        `notify: ${name} loop wait failed`,
      );
      return this.settings.pollMs;
    }
  }

  private async planStep(): Promise<number> {
    const { items, messages } = await this.planner.processNotifyItems(
      this.clock.now(),
      NOTIFIER_DEFAULTS.planBatch,
    );
    if (messages > 0) this.wakeDeliverers();
    if (items > 0) this.wakers.reminders.wake();
    return items;
  }

  private async reminderStep(): Promise<number> {
    if (this.options.remindsHere && !this.options.remindsHere()) return 0;
    const messages = await this.planner.processReminders(this.clock.now());
    if (messages > 0) this.wakeDeliverers();
    return messages;
  }

  private async reminderSleepMs(): Promise<number> {
    const next = await this.planner.nextReminderAt();
    const cap = NOTIFIER_DEFAULTS.reminderScanMaxMs;
    return next === null ? cap : Math.min(cap, Math.max(0, next - this.clock.now()));
  }

  private wakeDeliverers(): void {
    this.wakers.email.wake();
    this.wakers.webhook.wake();
  }

  private async sendEmail(item: OutboxItem): Promise<void> {
    if (!this.mailer)
      throw new DeliveryError('email: no --smtp-url configured; the message waits until one is', false);
    const { to, notification } = item.payload as EmailPayload;
    await this.mailer.send({
      to,
      subject: emailSubject(notification),
      text: emailText(notification, this.render),
      html: emailHtml(notification, this.render),
      key: item.key,
    });
  }

  private async sendWebhook(item: OutboxItem): Promise<void> {
    const payload = item.payload as WebhookPayload;
    const secret = this.webhookSecret(payload);
    await postWebhook({
      url: payload.webhook.url,
      body: webhookBody(payload.notification, payload.webhook.format, this.render, item.key),
      key: item.key,
      event: payload.notification.event,
      timeoutMs: this.settings.webhookTimeoutMs,
      ...(secret !== undefined ? { secret } : {}),
    });
  }

  /** The signing secret, looked up now (the outbox never stores it); remembered for scrubbing. */
  private webhookSecret(payload: WebhookPayload): string | undefined {
    const { webhook } = payload;
    let secret: string | undefined;
    if (webhook.secretEnv !== undefined) {
      secret = (this.options.resolveSecretEnv ?? ((n) => process.env[n]))(webhook.secretEnv);
      if (secret === undefined || secret === '') {
        throw new DeliveryError(
          `webhook: environment variable ${webhook.secretEnv} (secret_env) is not set; set it and restart the daemon`,
          true,
        );
      }
    } else if (webhook.hasSecret) {
      const def = payload.job ? this.options.jobs?.(payload.job) : undefined;
      secret = def?.notify.webhooks.find((w) => w.url === webhook.url)?.secret;
      if (secret === undefined) {
        throw new DeliveryError(
          `webhook: the secret of this webhook is no longer in job ${payload.job ?? '?'}; not sending it unsigned`,
          true,
        );
      }
    }
    if (secret !== undefined) this.secrets.add(secret);
    return secret;
  }
}
