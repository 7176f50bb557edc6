/**
 * A real HTTP server (node:http) on 127.0.0.1 that records every request with its exact body
 * bytes and answers with scripted statuses, for webhook tests.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Exact body bytes as UTF-8 (what the signature covers). */
  body: string;
  /** Status this receiver answered. */
  status: number;
}

export interface ScriptedResponse {
  status: number;
  headers?: Record<string, string>;
  /** Wait this long before answering (timeouts). */
  delayMs?: number;
}

export class HttpReceiver {
  readonly requests: ReceivedRequest[] = [];
  private script: ScriptedResponse[] = [];
  private fallback: ScriptedResponse = { status: 200 };
  private waiters: (() => void)[] = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<HttpReceiver> {
    const server = createServer();
    const receiver = new HttpReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const reply = receiver.script.shift() ?? receiver.fallback;
        const finish = () => {
          receiver.record({
            method: req.method ?? '',
            path: req.url ?? '',
            headers: req.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            status: reply.status,
          });
          res.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
          res.end(`status ${reply.status}\n`);
        };
        if (reply.delayMs) setTimeout(finish, reply.delayMs);
        else finish();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return receiver;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** The next requests get these answers, in order; then `fallback` (default 200). */
  respond(...responses: ScriptedResponse[]): void {
    this.script.push(...responses);
  }

  setFallback(response: ScriptedResponse): void {
    this.fallback = response;
  }

  private record(r: ReceivedRequest): void {
    this.requests.push(r);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Requests answered 2xx. */
  accepted(): ReceivedRequest[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }

  async waitForRequests(
    count: number,
    timeoutMs = 10_000,
    filter: (r: ReceivedRequest) => boolean = () => true,
  ): Promise<ReceivedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.filter(filter).length < count) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `http receiver: expected ${count} requests, got ${this.requests.filter(filter).length}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
    return this.requests.filter(filter);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
