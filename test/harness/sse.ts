/**
 * A small Server-Sent Events client for tests and benchmarks: each event with the time it arrived.
 */
import { request, type Agent } from 'node:http';

export interface SseEvent {
  event: string;
  id: string | null;
  data: string;
  at: number;
}

export interface SseClient {
  status: Promise<number>;
  events: SseEvent[];
  /** Resolves when the server ends the stream (or the connection closes). */
  closed: Promise<void>;
  /** Resolves with the first event for which `test` holds (or rejects after timeoutMs). */
  waitFor(test: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  close(): void;
  /** The body of a non-200 answer. */
  body: Promise<string>;
}

export function openSse(
  url: string,
  opts: { token?: string; lastEventId?: string; agent?: Agent; onEvent?: (e: SseEvent) => void } = {},
): SseClient {
  const events: SseEvent[] = [];
  const waiters: { test: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
  let resolveStatus!: (n: number) => void;
  let resolveClosed!: () => void;
  let resolveBody!: (s: string) => void;
  const status = new Promise<number>((r) => (resolveStatus = r));
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const body = new Promise<string>((r) => (resolveBody = r));
  const headers: Record<string, string> = { Accept: 'text/event-stream' };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.lastEventId !== undefined) headers['Last-Event-ID'] = opts.lastEventId;
  const req = request(url, { headers, agent: opts.agent }, (res) => {
    resolveStatus(res.statusCode ?? 0);
    res.setEncoding('utf8');
    let buf = '';
    let raw = '';
    res.on('data', (text: string) => {
      raw += res.statusCode === 200 ? '' : text;
      buf += text;
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const e: SseEvent = { event: 'message', id: null, data: '', at: Date.now() };
        let isEvent = false;
        for (const line of block.split('\n')) {
          if (line.startsWith(':') || line === '') continue;
          isEvent = true;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') e.event = value;
          else if (field === 'id') e.id = value;
          else if (field === 'data') e.data = e.data === '' ? value : `${e.data}\n${value}`;
        }
        if (!isEvent) continue;
        events.push(e);
        opts.onEvent?.(e);
        for (const w of waiters.splice(0)) {
          if (w.test(e)) w.resolve(e);
          else waiters.push(w);
        }
      }
    });
    res.on('end', () => {
      resolveBody(raw);
      resolveClosed();
    });
    res.on('close', () => {
      resolveBody(raw);
      resolveClosed();
    });
  });
  req.on('error', () => {
    resolveStatus(0);
    resolveBody('');
    resolveClosed();
  });
  req.end();
  return {
    status,
    events,
    closed,
    body,
    waitFor(test, timeoutMs = 10_000) {
      const found = events.find(test);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('sse: timed out waiting for an event')), timeoutMs);
        waiters.push({
          test,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
    close: () => req.destroy(),
  };
}
