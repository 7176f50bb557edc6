/**
 * A real SMTP server (smtp-server) on 127.0.0.1 with a random port, for notification tests.
 * It offers STARTTLS with smtp-server's built-in self-signed certificate (clients need
 * `tlsInsecure`), can require AUTH, can be stopped and restarted on the same port ("SMTP down"),
 * and parses every received message with mailparser.
 */
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  parsed: ParsedMail;
  /** Envelope recipients. */
  rcptTo: string[];
  /** X-Distcron-Delivery header (the idempotency key). */
  deliveryKey: string | undefined;
  /** Whether the session was upgraded to TLS (STARTTLS or smtps). */
  secure: boolean;
  user: string | undefined;
}

export interface TestSmtpOptions {
  /** Require AUTH with these credentials. */
  auth?: { user: string; password: string };
  /** smtps: TLS from the first byte instead of STARTTLS. */
  secure?: boolean;
  /** Recipients answered with 550 (permanent rejection). */
  rejectRecipient?: (address: string) => boolean;
}

export class TestSmtpServer {
  readonly messages: ReceivedMail[] = [];
  private server: SMTPServer | null = null;
  private waiters: (() => void)[] = [];
  port = 0;

  private constructor(private readonly options: TestSmtpOptions) {}

  static async start(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
    const s = new TestSmtpServer(options);
    await s.listen(0);
    return s;
  }

  /** smtp(s)://[user:password@]127.0.0.1:port */
  get url(): string {
    const a = this.options.auth;
    const cred = a ? `${encodeURIComponent(a.user)}:${encodeURIComponent(a.password)}@` : '';
    return `${this.options.secure ? 'smtps' : 'smtp'}://${cred}127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.server !== null;
  }

  private async listen(port: number): Promise<void> {
    const server = this.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    server.on('error', () => undefined);
    this.port = (server.server.address() as { port: number }).port;
    this.server = server;
  }

  private createServer(): SMTPServer {
    const { auth, secure, rejectRecipient } = this.options;
    return new SMTPServer({
      secure: secure ?? false,
      authOptional: !auth,
      closeTimeout: 200,
      logger: false,
      onAuth: (a, _session, cb) => {
        if (auth && a.username === auth.user && a.password === auth.password)
          return cb(null, { user: a.username });
        cb(new Error('535 authentication failed'));
      },
      onRcptTo: (address, _session, cb) => {
        if (rejectRecipient?.(address.address))
          return cb(Object.assign(new Error('no such user'), { responseCode: 550 }));
        cb();
      },
      onData: (stream, session, cb) => {
        simpleParser(stream)
          .then((parsed) => {
            this.record(parsed, session);
            cb();
          })
          .catch((err: Error) => cb(err));
      },
    });
  }

  private record(
    parsed: ParsedMail,
    session: { envelope: { rcptTo: { address: string }[] }; secure: boolean; user?: unknown },
  ): void {
    const key = parsed.headers.get('x-distcron-delivery');
    this.messages.push({
      parsed,
      rcptTo: session.envelope.rcptTo.map((r) => r.address),
      deliveryKey: typeof key === 'string' ? key : undefined,
      secure: session.secure,
      user: typeof session.user === 'string' ? session.user : undefined,
    });
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once at least `count` messages arrived; rejects after `timeoutMs`. */
  async waitForMessages(count: number, timeoutMs = 10_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`smtp test server: expected ${count} messages, got ${this.messages.length}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
    return this.messages;
  }

  /** Delivery keys and how often each arrived. */
  keyCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const m of this.messages)
      counts.set(m.deliveryKey ?? '', (counts.get(m.deliveryKey ?? '') ?? 0) + 1);
    return counts;
  }

  /** Closes the port: clients see ECONNREFUSED until restart(). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  async restart(): Promise<void> {
    if (!this.server) await this.listen(this.port);
  }
}
