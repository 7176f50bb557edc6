/** SMTP delivery through nodemailer. The only part of notify/ that speaks SMTP. */
import { createHash } from 'node:crypto';
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { DeliveryError } from './delivery-error.js';

export interface SmtpOptions {
  /** smtp://[user[:password]@]host[:port] (STARTTLS when offered) or smtps://... (TLS from the start). */
  url: string;
  /** Envelope and header sender, e.g. `distcron <distcron@example.com>`. */
  from: string;
  /** Override the URL's credentials (keeps the password out of process listings). */
  user?: string;
  password?: string;
  /** smtp:// only: refuse to send unless the server upgrades with STARTTLS. */
  requireTls?: boolean;
  /** Accept a server certificate that does not verify (self-signed relays, tests). */
  tlsInsecure?: boolean;
  /** Extra CA certificates (PEM) to trust for the server. */
  ca?: string;
  /** Connection, greeting and socket timeout (default 10 s / 10 s / 30 s). */
  timeoutMs?: number;
}

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Idempotency key: `Message-ID: <sha256(key)@distcron>` and `X-Distcron-Delivery: <key>`. */
  key: string;
}

interface ParsedSmtpUrl {
  secure: boolean;
  host: string;
  port: number;
  user?: string;
  password?: string;
}

export function parseSmtpUrl(url: string): ParsedSmtpUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('notify: --smtp-url is not a URL; use smtp://host:587 or smtps://host:465');
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') {
    throw new Error(`notify: --smtp-url must start with smtp:// or smtps://, not ${parsed.protocol}//`);
  }
  const secure = parsed.protocol === 'smtps:';
  const result: ParsedSmtpUrl = {
    secure,
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : secure ? 465 : 587,
  };
  if (parsed.username) result.user = decodeURIComponent(parsed.username);
  if (parsed.password) result.password = decodeURIComponent(parsed.password);
  return result;
}

/** Message-ID from the idempotency key: a hash, because keys hold `:` and `@` (not dot-atom). */
export function messageIdFor(key: string): string {
  return `<${createHash('sha256').update(key).digest('hex').slice(0, 40)}@distcron>`;
}

const VALID_ADDRESS = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+$/;

export function classifySmtpError(err: unknown): DeliveryError {
  const e = err as { code?: string; responseCode?: number; message?: string };
  const detail = [e.code, e.responseCode, e.message].filter((x) => x !== undefined).join(' ');
  // A rejected login is an operator's fix away: keep retrying rather than dead-letter the mail.
  if (e.code === 'EAUTH')
    return new DeliveryError(`email: SMTP login failed (${detail}); check the SMTP user and password`, false);
  if (typeof e.responseCode === 'number' && e.responseCode >= 500) {
    return new DeliveryError(`email: SMTP server rejected the message (${detail})`, true);
  }
  if (e.code === 'EENVELOPE' && e.responseCode === undefined)
    return new DeliveryError(`email: ${detail}`, true);
  return new DeliveryError(`email: SMTP delivery failed (${detail}); will retry`, false);
}

export class SmtpMailer {
  private transport: Promise<Transporter> | undefined;
  private readonly transportOptions: SMTPTransport.Options;
  private readonly target: ParsedSmtpUrl;
  private readonly password: string | undefined;
  private closed = false;

  constructor(private readonly options: SmtpOptions) {
    this.target = parseSmtpUrl(options.url);
    const user = options.user ?? this.target.user;
    this.password = options.password ?? this.target.password;
    const timeout = options.timeoutMs ?? 10_000;
    this.transportOptions = {
      host: this.target.host,
      port: this.target.port,
      secure: this.target.secure,
      requireTLS: options.requireTls ?? false,
      auth: user ? { user, pass: this.password ?? '' } : undefined,
      tls: { rejectUnauthorized: !options.tlsInsecure, ...(options.ca ? { ca: options.ca } : {}) },
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout * 3,
      logger: false,
      debug: false,
    };
  }

  /** nodemailer is loaded with the first mail: start-up CPU is not spent on a mail that may never go. */
  private transporter(): Promise<Transporter> {
    this.transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport(this.transportOptions),
    );
    return this.transport;
  }

  /** Where mail goes, without credentials (for logs). */
  describe(): string {
    return `${this.target.secure ? 'smtps' : 'smtp'}://${this.target.host}:${this.target.port}`;
  }

  /** Values that must never reach a log line. */
  secrets(): string[] {
    return this.password ? [this.password, encodeURIComponent(this.password)] : [];
  }

  async send(mail: OutgoingMail): Promise<void> {
    if (this.closed) throw new DeliveryError('email: the mailer is closed (daemon shutting down)', false);
    if (!VALID_ADDRESS.test(mail.to))
      throw new DeliveryError(`email: invalid recipient address "${mail.to}"`, true);
    try {
      const transport = await this.transporter();
      await transport.sendMail({
        from: this.options.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: messageIdFor(mail.key),
        headers: { 'X-Distcron-Delivery': mail.key },
      });
    } catch (err) {
      throw classifySmtpError(err);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.transport?.then(
      (transport) => transport.close(),
      () => undefined,
    );
  }
}
