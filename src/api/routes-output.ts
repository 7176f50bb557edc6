/**
 * A run's output while it runs and after (SPEC §17): `GET /runs/:id/output` (JSON, from an
 * offset) and `GET /runs/:id/output/stream` (Server-Sent Events). Offsets are byte offsets in
 * the run's combined output (see src/daemon/live-output.ts).
 */
import type { Request, Response } from 'express';
import type { RunRecord } from '../core/types.js';
import type { LiveChunk, LiveListener, RunEnd } from '../daemon/live-output.js';
import type { RunOutput } from '../daemon/run-output.js';
import { ApiError } from './errors.js';
import { parseEnum, pathParam, readQuery } from './request.js';
import { API_PREFIX, type ApiRoute, type RouteContext } from './routes.js';

export const OUTPUT_STREAMS = ['stdout', 'stderr', 'both'] as const;
type StreamFilter = (typeof OUTPUT_STREAMS)[number];

/** Largest answer of GET /output (whole chunks, so a little more is possible). */
export const OUTPUT_PAGE_BYTES = 1024 * 1024;
/** Followers at once, per run and in all; more are refused (503) instead of costing memory. */
export const MAX_FOLLOWERS_PER_RUN = 1000;
export const MAX_FOLLOWERS = 4000;
/** Bytes written to a follower but not yet taken by it; beyond, it is dropped. */
export const FOLLOWER_BUFFER_BYTES = 256 * 1024;
export const HEARTBEAT_MS = 15_000;
/** A follower that takes nothing for this long while catching up is dropped. */
const DRAIN_WAIT_MS = 30_000;
/** How often a follower of a run executing elsewhere reads the store. */
export const STORE_POLL_MS = 250;

function runId(req: Request): string {
  const id = pathParam(req, 'id');
  if (!/^[0-9A-Za-z_-]{1,64}$/.test(id))
    throw new ApiError(400, 'invalid_id', 'api: a run id is 1-64 letters, digits, "-" or "_"', { id });
  return id;
}

function parseOffset(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value))
    throw new ApiError(
      400,
      'invalid_parameter',
      `api: ${name} must be a byte offset (a non-negative integer)`,
      {
        [name]: value,
      },
    );
  return Number(value);
}

function outputOf(ctx: RouteContext): RunOutput {
  if (!ctx.control.output) throw new ApiError(404, 'not_found', 'api: run output is not available here');
  return ctx.control.output;
}

async function existingRun(ctx: RouteContext, id: string): Promise<RunRecord> {
  const run = await ctx.control.getRun(id);
  if (!run) throw new ApiError(404, 'not_found', `api: no run with id ${id}`);
  return run;
}

const wanted = (filter: StreamFilter, c: LiveChunk) => filter === 'both' || c.stream === filter;

async function getOutput(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  const query = readQuery(req, ['stream', 'offset']);
  const filter = parseEnum(query.stream, 'stream', OUTPUT_STREAMS) ?? 'both';
  const offset = parseOffset(query.offset, 'offset') ?? 0;
  const output = outputOf(ctx);
  const run = await existingRun(ctx, runId(req));
  // Final before the read: every chunk was stored before the final record.
  const page = await output.read(run, offset, OUTPUT_PAGE_BYTES);
  const more = page.chunks.reduce((n, c) => n + c.end - c.offset, 0) >= OUTPUT_PAGE_BYTES;
  res.json({
    text: page.chunks
      .filter((c) => wanted(filter, c))
      .map((c) => c.text)
      .join(''),
    next_offset: page.next,
    complete: run.status !== 'running' && !more,
  });
}

async function streamOutput(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  const query = readQuery(req, ['stream', 'offset']);
  const filter = parseEnum(query.stream, 'stream', OUTPUT_STREAMS) ?? 'both';
  const lastId = req.get('Last-Event-ID');
  const from = parseOffset(lastId === undefined || lastId === '' ? undefined : lastId, 'Last-Event-ID');
  const offset = from ?? parseOffset(query.offset, 'offset');
  const output = outputOf(ctx);
  const id = runId(req);
  const run = await existingRun(ctx, id);
  const perRun = output.followers.get(id) ?? 0;
  if (perRun >= MAX_FOLLOWERS_PER_RUN || output.followerCount >= MAX_FOLLOWERS)
    throw new ApiError(
      503,
      'too_many_followers',
      `api: too many followers (at most ${MAX_FOLLOWERS_PER_RUN} per run, ${MAX_FOLLOWERS} in all); try again later`,
      { run: id },
    );
  const start = offset ?? (await output.tailStart(run));
  new Follower(output, run, filter, req, res, () => ctx.control.getRun(id)).start(start);
}

/** One SSE client of one run. */
class Follower implements LiveListener {
  private pos = 0;
  private catchingUp = true;
  private endedWith: RunEnd | null = null;
  private closed = false;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly output: RunOutput,
    private readonly run: RunRecord,
    private readonly filter: StreamFilter,
    private readonly req: Request,
    private readonly res: Response,
    private readonly reread: () => Promise<RunRecord | undefined>,
  ) {}

  start(from: number): void {
    this.pos = from;
    const { res, output, run } = this;
    output.followers.set(run.id, (output.followers.get(run.id) ?? 0) + 1);
    output.followerCount++;
    this.cleanups.push(() => {
      const n = (output.followers.get(run.id) ?? 1) - 1;
      if (n > 0) output.followers.set(run.id, n);
      else output.followers.delete(run.id);
      output.followerCount--;
    });
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    res.write(': distcron run output\n\n');
    const beat = setInterval(() => this.write(': heartbeat\n\n'), HEARTBEAT_MS);
    this.cleanups.push(() => clearInterval(beat));
    // The response closes when the client goes away (or after end()).
    res.on('close', () => this.close());
    res.on('error', () => this.close());
    void this.follow().catch(() => this.close());
  }

  chunk(chunk: LiveChunk, node: string): void {
    // While catching up, chunks are read (from memory or the store) rather than queued here.
    if (!this.catchingUp) this.send(chunk, node);
  }

  end(end: RunEnd): void {
    if (this.catchingUp) this.endedWith = end;
    else this.finish(end);
  }

  private async follow(): Promise<void> {
    const { output, run } = this;
    for (;;) {
      if (this.closed) return;
      const live = output.live?.get(run.id);
      if (live) {
        live.listeners.add(this);
        this.cleanups.push(() => live.listeners.delete(this));
        await this.catchUp(run, live.node);
        // Under a flood, memory may have moved on during the last read: read again until it has not.
        while (!this.closed && !this.endedWith && live.recentStart > this.pos)
          await this.catchUp(run, live.node);
        if (this.endedWith) {
          // Ended meanwhile: every chunk is in the store now.
          await this.catchUp(run, live.node);
          return this.finish(this.endedWith);
        }
        // Synchronously from memory up to the newest chunk, then live: nothing can slip between.
        for (const c of live.recent) this.send(c, live.node);
        this.catchingUp = false;
        return;
      }
      // Not executing here (yet, or elsewhere, or finished): the store, read again until final.
      const record = await this.reread();
      await this.catchUp(record ?? run, (record ?? run).node ?? '');
      if (!record || record.status !== 'running') {
        return this.finish({ status: record?.status ?? 'lost', exit_code: record?.exit_code ?? null });
      }
      await this.waitForMore();
    }
  }

  private async catchUp(run: RunRecord, node: string): Promise<void> {
    for (;;) {
      if (this.closed) return;
      const page = await this.output.read(run, this.pos, FOLLOWER_BUFFER_BYTES / 2);
      for (const c of page.chunks) this.send(c, node);
      if (page.next === this.pos || page.chunks.length === 0) return;
      // Let the client take what was written before reading more.
      if (this.res.writableLength > 0 && !(await this.drained())) return this.drop();
    }
  }

  /** False when the client took nothing for DRAIN_WAIT_MS. */
  private drained(): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.res.off('drain', onDrain).off('close', onDrain);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const timer = setTimeout(() => done(false), DRAIN_WAIT_MS);
      this.res.once('drain', onDrain).once('close', onDrain);
    });
  }

  private waitForMore(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        cancel?.();
        resolve();
      };
      const timer = setTimeout(done, STORE_POLL_MS);
      const cancel = this.output.live?.whenLive(this.run.id, done);
    });
  }

  private send(c: LiveChunk, node: string): void {
    if (this.closed || c.end <= this.pos) return;
    this.pos = c.end;
    if (this.filter !== 'both' && c.stream !== this.filter) return;
    if (this.res.writableLength > FOLLOWER_BUFFER_BYTES) return this.drop();
    const data = JSON.stringify({ stream: c.stream, node, text: c.text });
    this.write(`event: output\nid: ${c.end}\ndata: ${data}\n\n`);
  }

  private drop(): void {
    const reason = `the follower did not keep up (over ${FOLLOWER_BUFFER_BYTES} bytes unread); reconnect with Last-Event-ID to resume`;
    this.write(`event: dropped\ndata: ${JSON.stringify({ reason, offset: this.pos })}\n\n`);
    this.close();
    // It does not read: don't wait for it to take the last event.
    setTimeout(() => this.res.destroy(), 1000).unref();
  }

  private finish(end: RunEnd): void {
    if (this.closed) return;
    this.write(`event: end\ndata: ${JSON.stringify(end)}\n\n`);
    this.close();
  }

  private write(text: string): void {
    if (!this.closed) this.res.write(text);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.cleanups.splice(0)) c();
    this.res.end();
  }
}

const P = `${API_PREFIX}/runs`;

export const outputRoutes: ApiRoute[] = [
  { method: 'get', path: `${P}/:id/output`, role: 'read', handle: getOutput },
  { method: 'get', path: `${P}/:id/output/stream`, role: 'read', handle: streamOutput },
];
