/**
 * Following a run's output as it comes (SPEC §17): `distcron logs RUN [-f]` and
 * `distcron run JOB --follow`. Reads the API's Server-Sent Events with fetch (the token goes in
 * the Authorization header, never in a URL) and resumes with Last-Event-ID when the connection
 * drops or the daemon drops a slow follower.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunRecord } from '../core/types.js';
import { apiCall, ClientError, type ApiTarget } from './client-http.js';
import { clientFailure, runExitCode, waitUntilFinal, CLIENT_DEFAULTS, type LineWriter } from './client.js';

const stdoutLine: LineWriter = (line) => process.stdout.write(`${line}\n`);
const stderrLine: LineWriter = (line) => process.stderr.write(`${line}\n`);

export interface RunEnd {
  status: string;
  exit_code: number | null;
}

/** Whole lines to a writer, with an optional "NODE | " prefix; the rest waits for its newline. */
class Lines {
  private partial = '';
  constructor(
    private readonly write: LineWriter,
    public prefix: string,
  ) {}

  push(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.write(this.prefix + line);
  }

  flush(): void {
    if (this.partial !== '') this.write(this.prefix + this.partial);
    this.partial = '';
  }
}

const MAX_RECONNECTS = 20;

/** Prints one run's output from `offset` until it ends; resolves its end. */
export async function followOutput(
  target: ApiTarget,
  id: string,
  opts: { out: LineWriter; err: LineWriter; prefixNode?: boolean; offset?: number },
): Promise<RunEnd> {
  const out = new Lines(opts.out, '');
  const err = new Lines(opts.err, '');
  let lastId = String(opts.offset ?? 0);
  let failures = 0;
  try {
    for (;;) {
      const result = await readStream(target, id, lastId, (stream, node, text, eventId) => {
        if (opts.prefixNode) out.prefix = err.prefix = `${node} | `;
        (stream === 'stderr' ? err : out).push(text);
        lastId = eventId;
        failures = 0;
      });
      if (result !== null) return result;
      // Dropped or disconnected: resume where we were.
      if (++failures > MAX_RECONNECTS)
        throw new ClientError(
          `client: lost the output stream of run ${id} ${MAX_RECONNECTS} times; giving up`,
        );
      await sleep(Math.min(2000, 100 * failures), undefined, { signal: target.signal });
    }
  } finally {
    out.flush();
    err.flush();
  }
}

/** One SSE connection; the end event, or null when the stream stopped without one. */
async function readStream(
  target: ApiTarget,
  id: string,
  lastId: string,
  onOutput: (stream: string, node: string, text: string, eventId: string) => void,
): Promise<RunEnd | null> {
  const url = new URL(
    `api/v1/runs/${encodeURIComponent(id)}/output/stream`,
    target.api.endsWith('/') ? target.api : `${target.api}/`,
  );
  const headers: Record<string, string> = { accept: 'text/event-stream', 'last-event-id': lastId };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: target.signal });
  } catch (err) {
    if (target.signal?.aborted) throw err;
    return null;
  }
  if (!res.ok || !res.body) {
    if (res.status >= 500) return null;
    // Not found, bad request, no permission: the same answer as GET /runs/:id would give.
    await apiCall(target, 'GET', `/api/v1/runs/${encodeURIComponent(id)}`);
    throw new ClientError(`client: cannot follow run ${id} (HTTP ${res.status})`, res.status);
  }
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for await (const bytes of res.body) {
      buf += decoder.decode(bytes as Uint8Array, { stream: true });
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const event = parseEvent(buf.slice(0, cut));
        buf = buf.slice(cut + 2);
        if (event.name === 'output' && event.id !== null) {
          const data = JSON.parse(event.data) as { stream: string; node: string; text: string };
          onOutput(data.stream, data.node, data.text, event.id);
        } else if (event.name === 'end') return JSON.parse(event.data) as RunEnd;
        else if (event.name === 'dropped') return null;
      }
    }
  } catch (err) {
    if (target.signal?.aborted) throw err;
  }
  return null;
}

function parseEvent(block: string): { name: string; id: string | null; data: string } {
  const event = { name: 'message', id: null as string | null, data: '' };
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event.name = value;
    else if (field === 'id') event.id = value;
    else if (field === 'data') event.data = event.data === '' ? value : `${event.data}\n${value}`;
  }
  return event;
}

export interface LogsOptions extends ApiTarget {
  id: string;
  follow?: boolean;
  out?: LineWriter;
  err?: LineWriter;
}

/**
 * `distcron logs RUN [-f]`: the run's output so far (stdout and stderr in the order they came);
 * with -f, then everything it prints until it ends, exiting with its code (like `distcron run`).
 */
export async function runLogs(options: LogsOptions): Promise<number> {
  const out = options.out ?? stdoutLine;
  const err = options.err ?? stderrLine;
  try {
    if (options.follow) {
      const end = await followOutput(options, options.id, { out, err });
      return runExitCode({ status: end.status as RunRecord['status'], exit_code: end.exit_code });
    }
    const lines = { stdout: new Lines(out, ''), stderr: new Lines(err, '') };
    const path = `/api/v1/runs/${encodeURIComponent(options.id)}/output`;
    for (let offset = 0; ;) {
      const both = await apiCall<{ next_offset: number; complete: boolean }>(
        options,
        'GET',
        `${path}?offset=${offset}`,
      );
      // Per stream, so stderr goes to stderr: the same window read twice, filtered.
      for (const stream of ['stdout', 'stderr'] as const) {
        const page = await apiCall<{ text: string }>(
          options,
          'GET',
          `${path}?offset=${offset}&stream=${stream}`,
        );
        lines[stream].push(page.text);
      }
      if (both.next_offset === offset || both.complete) break;
      offset = both.next_offset;
    }
    lines.stdout.flush();
    lines.stderr.flush();
    return 0;
  } catch (e) {
    return clientFailure(e, options, err);
  }
}

/** `distcron run JOB --follow`: each run's output as it comes ("NODE | " lines for several runs). */
export async function followRuns(
  target: ApiTarget,
  ids: readonly string[],
  out: LineWriter,
  err: LineWriter,
  pollMs: number = CLIENT_DEFAULTS.pollMs,
): Promise<RunRecord[]> {
  return Promise.all(
    ids.map(async (id) => {
      await followOutput(target, id, { out, err, prefixNode: ids.length > 1 });
      return waitUntilFinal(target, id, pollMs, CLIENT_DEFAULTS.pollMaxMs);
    }),
  );
}
