/**
 * Drives one started exec channel to an ExecOutcome: separate bounded stdout/stderr, exit code
 * or signal, and timeout/cancel that kill the remote process group (see remote.ts).
 */
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import type { ExecOutcome, ExecRequest } from '../executor.js';
import { OutputCapture } from '../output.js';
import type { ExecChannel } from './pool.js';
import { PgidSniffer, signalName } from './remote.js';

export interface RemoteRunDeps {
  clock: Clock;
  logger: Logger;
  /** Kills the remote process group (over another channel); resolves when done or given up. */
  killTree: (pgid: number) => Promise<void>;
  host: string;
  node: string;
}

/** How long to wait for the PGID line, and for the channel to close after the kill. */
const PGID_WAIT_MS = 3_000;
const CLOSE_AFTER_KILL_MS = 5_000;

export class RemoteRun {
  private readonly stdout: OutputCapture;
  private readonly stderr: OutputCapture;
  private readonly sniffer: PgidSniffer;
  private stopReason: 'timed_out' | 'cancelled' | null = null;
  private readonly done = new AbortController();

  constructor(
    private readonly exec: ExecChannel,
    private readonly req: ExecRequest,
    private readonly deps: RemoteRunDeps,
  ) {
    this.stdout = new OutputCapture(req.outputLimitBytes);
    this.stderr = new OutputCapture(req.outputLimitBytes);
    this.sniffer = new PgidSniffer((chunk) => {
      this.stderr.push(chunk);
      req.onOutput?.('stderr', chunk);
    });
  }

  /** Resolves when the channel has closed (command ended, was killed, or the link died). */
  async result(startedAt: number): Promise<ExecOutcome> {
    const closed = this.watchChannel();
    this.armTimeout();
    const onAbort = () => void this.stop('cancelled');
    if (this.req.signal.aborted) onAbort();
    else this.req.signal.addEventListener('abort', onAbort, { once: true });
    await closed;
    // A reason string: abort() without one builds a DOMException (a stack trace) per run.
    this.done.abort('finished');
    this.req.signal.removeEventListener('abort', onAbort);
    this.sniffer.end();
    return this.outcome(startedAt);
  }

  private get channel() {
    return this.exec.channel;
  }

  private get exitCode(): number | null {
    return this.exec.exit?.code ?? null;
  }

  private get exitSignal(): string | null {
    const sig = this.exec.exit?.signal;
    return sig ? signalName(sig) : null;
  }

  /** Resolves when the channel has closed and both streams are drained. */
  private async watchChannel(): Promise<void> {
    const ended = (s: NodeJS.ReadableStream) =>
      new Promise<void>((r) => {
        s.once('end', r);
        s.once('close', r);
      });
    this.channel.on('data', (chunk: Buffer) => {
      this.stdout.push(chunk);
      this.req.onOutput?.('stdout', chunk);
    });
    this.channel.stderr.on('data', (chunk: Buffer) => this.sniffer.push(chunk));
    this.channel.on('error', (err: Error) =>
      this.deps.logger.warn({ err, node: this.deps.node }, 'ssh: channel error'),
    );
    const streams = Promise.all([ended(this.channel), ended(this.channel.stderr)]);
    await this.exec.closed;
    if (this.channel.readableEnded && this.channel.stderr.readableEnded) return;
    // Buffered output may still be flowing out of the streams after 'close'.
    const drained = new AbortController();
    await Promise.race([streams, this.deps.clock.sleep(1000, drained.signal)]);
    drained.abort('drained');
  }

  private armTimeout(): void {
    const ms = this.req.timeoutMs;
    if (ms === undefined || ms <= 0) return;
    void this.deps.clock.sleep(ms, this.done.signal).then(() => {
      if (!this.done.signal.aborted) void this.stop('timed_out');
    });
  }

  private async stop(reason: 'timed_out' | 'cancelled'): Promise<void> {
    if (this.stopReason || this.done.signal.aborted) return;
    this.stopReason = reason;
    const pgid = await Promise.race([
      this.sniffer.pgid,
      this.deps.clock.sleep(PGID_WAIT_MS, this.done.signal).then(() => null),
    ]);
    if (this.done.signal.aborted) return;
    if (pgid !== null) await this.deps.killTree(pgid);
    else this.channel.signal('KILL');
    // The channel normally closes as the group dies; don't wait forever for a wedged link.
    await this.deps.clock.sleep(CLOSE_AFTER_KILL_MS, this.done.signal);
    if (!this.done.signal.aborted) this.channel.close();
  }

  private outcome(startedAt: number): ExecOutcome {
    const base = {
      exitCode: this.exitCode,
      signal: this.exitSignal,
      stdout: this.stdout.text(),
      stderr: this.stderr.text(),
      outputTruncated: this.stdout.truncated || this.stderr.truncated,
      startedAt,
      finishedAt: this.deps.clock.now(),
      host: this.deps.host,
      connectFailed: false,
    };
    if (this.stopReason) return { ...base, status: this.stopReason, error: this.stopMessage() };
    if (this.exitSignal) return { ...base, status: 'failed', error: null };
    if (this.exitCode === null)
      return {
        ...base,
        status: 'error',
        error: `ssh: node ${this.deps.node}: connection lost before the command finished (no exit status)`,
      };
    if (this.exitCode === 0) return { ...base, status: 'succeeded', error: null };
    return { ...base, status: 'failed', error: null };
  }

  private stopMessage(): string {
    if (this.stopReason === 'cancelled') return 'cancelled; remote process group killed';
    return `timed out after ${this.req.timeoutMs} ms; remote process group killed`;
  }
}
