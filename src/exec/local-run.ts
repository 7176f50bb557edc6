import { spawn, type ChildProcess } from 'node:child_process';
import { systemClock, type Clock } from '../core/clock.js';
import type { Millis } from '../core/types.js';
import { errorOutcome, type ExecOutcome, type ExecRequest } from './executor.js';
import { describeSpawnError, type SpawnPlan } from './local-spawn.js';
import { OutputCapture } from './output.js';
import { groupHasLiveMembers, reapPollDelayMs, signalGroup } from './process-group.js';

export interface LocalRunOptions {
  killGraceMs: number;
  pipeDrainMs: number;
  /** Source of startedAt/finishedAt. Waits use real time: they pace real processes. */
  clock: Clock;
  host: string;
}

type KillReason = 'timeout' | 'cancel' | 'shutdown';
interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** SIGKILL takes effect at once but not synchronously: how long the group may take to vanish. */
const REAP_AFTER_KILL_MS = 2000;

const KILL_MESSAGES: Record<KillReason, (req: ExecRequest) => string> = {
  timeout: (req) => `local: timed out after ${req.timeoutMs} ms; the whole process group was killed`,
  cancel: () => 'local: cancelled; the whole process group was killed',
  shutdown: () => 'local: the daemon shut down during the run; the whole process group was killed',
};

/**
 * One local process from spawn to outcome. The process leads its own process group, so a
 * timeout or cancel reaches every process it started: SIGTERM, then SIGKILL after the grace.
 */
export class LocalRun {
  private child!: ChildProcess;
  private exited!: Promise<Exit>;
  private closed!: Promise<void>;
  private killReason: KillReason | null = null;
  private sigkillSent = false;
  private announceSigkill!: () => void;
  private readonly sigkilled = new Promise<void>((resolve) => (this.announceSigkill = resolve));
  /** Aborted when the run is over: stops its timers and late kills. */
  private readonly done = new AbortController();
  private readonly stdout: OutputCapture;
  private readonly stderr: OutputCapture;
  private startedAt: Millis | null = null;
  private readonly onAbort = () => this.terminate('cancel');
  private finished: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly req: ExecRequest,
    private readonly plan: SpawnPlan,
    private readonly opts: LocalRunOptions,
  ) {
    this.stdout = new OutputCapture(req.outputLimitBytes);
    this.stderr = new OutputCapture(req.outputLimitBytes);
  }

  execute(): Promise<ExecOutcome> {
    const outcome = this.runToEnd();
    this.finished = outcome.catch(() => undefined);
    return outcome;
  }

  /** Kills the group at once (daemon shutdown); resolves when the run has ended. */
  async shutdown(): Promise<void> {
    this.terminate('shutdown');
    await this.finished;
  }

  private async runToEnd(): Promise<ExecOutcome> {
    const startProblem = await this.start();
    if (startProblem !== null)
      return errorOutcome(startProblem, this.opts.clock.now(), false, this.opts.host);
    try {
      this.watchTimeoutAndCancel();
      const exit = await this.exited;
      await this.drainPipes();
      if (this.killReason !== null || this.sigkillSent) await this.reapGroup();
      return this.outcome(exit);
    } finally {
      this.done.abort();
      this.req.signal.removeEventListener('abort', this.onAbort);
    }
  }

  /** Spawns the process; resolves null once it runs, or the reason it could not start. */
  private start(): Promise<string | null> {
    const { file, args, env, cwd } = this.plan;
    try {
      // stdin is empty and closed (/dev/null), or carries the script and is then closed.
      const stdin = this.plan.stdin ? 'pipe' : 'ignore';
      this.child = spawn(file, args, { cwd, env, detached: true, stdio: [stdin, 'pipe', 'pipe'] });
    } catch (err) {
      return Promise.resolve(describeSpawnError(err, file));
    }
    this.listen(this.child);
    if (this.plan.stdin) {
      // EPIPE when the program exits without reading it all is no error of the run.
      this.child.stdin?.on('error', () => undefined);
      this.child.stdin?.end(this.plan.stdin);
    }
    return new Promise((resolve) => {
      this.child.once('spawn', () => {
        this.markStarted();
        resolve(null);
      });
      this.child.once('error', (err) => {
        if (this.startedAt === null) resolve(describeSpawnError(err, file));
      });
    });
  }

  private listen(child: ChildProcess): void {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.closed = new Promise((resolve) => child.once('close', () => resolve()));
    // Without a listener, a late 'error' (from the process or a pipe) would crash the daemon.
    child.on('error', () => undefined);
    child.stdout?.on('error', () => undefined).on('data', (chunk: Buffer) => this.out('stdout', chunk));
    child.stderr?.on('error', () => undefined).on('data', (chunk: Buffer) => this.out('stderr', chunk));
  }

  private out(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    this[stream].push(chunk);
    this.req.onOutput?.(stream, chunk);
  }

  private markStarted(): void {
    this.startedAt = this.opts.clock.now();
    try {
      this.req.onStart?.(this.startedAt, this.opts.host);
    } catch {
      // The caller's bookkeeping failing must not leave a process running unsupervised.
    }
  }

  private watchTimeoutAndCancel(): void {
    const { timeoutMs, signal } = this.req;
    if (timeoutMs !== undefined && timeoutMs > 0) {
      void systemClock.sleep(timeoutMs, this.done.signal).then(() => this.terminate('timeout'));
    }
    if (signal.aborted) this.terminate('cancel');
    else signal.addEventListener('abort', this.onAbort, { once: true });
  }

  private terminate(reason: KillReason): void {
    if (this.done.signal.aborted || this.child?.pid === undefined) return;
    if (this.killReason !== null) {
      if (reason === 'shutdown') this.sendKill(); // shutdown cuts a running grace short
      return;
    }
    this.killReason = reason;
    if (reason === 'shutdown' || this.opts.killGraceMs <= 0) return this.sendKill();
    signalGroup(this.child.pid, 'SIGTERM');
    void systemClock.sleep(this.opts.killGraceMs, this.done.signal).then(() => {
      if (!this.done.signal.aborted) this.sendKill();
    });
  }

  private sendKill(): void {
    if (this.child.pid !== undefined) signalGroup(this.child.pid, 'SIGKILL');
    this.sigkillSent = true;
    this.announceSigkill();
  }

  /**
   * After the process exited, waits for its pipes to close. A background process that inherited
   * them could hold them open for ever, so the wait is bounded: then the group is killed and the
   * pipes destroyed. While a kill is in progress the wait extends to the SIGKILL.
   */
  private async drainPipes(): Promise<void> {
    while (!(await this.closedWithin(this.opts.pipeDrainMs))) {
      if (this.killReason !== null && !this.sigkillSent) {
        await Promise.race([this.closed, this.sigkilled]);
        continue;
      }
      if (this.killReason === null) this.out('stderr', Buffer.from(this.heldPipesNote()));
      this.sendKill();
      this.child.stdout?.destroy();
      this.child.stderr?.destroy();
      return;
    }
  }

  private heldPipesNote(): string {
    return (
      `\n[distcron: the command exited but a background process kept its output open; ` +
      `its process group was killed after ${this.opts.pipeDrainMs} ms]\n`
    );
  }

  private async closedWithin(ms: number): Promise<boolean> {
    const stop = new AbortController();
    let closed = false;
    const closing = this.closed.then(() => (closed = true));
    await Promise.race([closing, systemClock.sleep(ms, stop.signal)]);
    stop.abort();
    return closed;
  }

  /**
   * Once the group is being killed, the run ends only when none of its processes is left.
   * Checks back off (see reapPollDelayMs): a check may scan /proc, which costs O(processes).
   */
  private async reapGroup(): Promise<void> {
    const pgid = this.child.pid!;
    for (let i = 0; !this.sigkillSent && groupHasLiveMembers(pgid); i++) {
      await Promise.race([this.sigkilled, systemClock.sleep(reapPollDelayMs(i))]);
    }
    const giveUpAt = Date.now() + REAP_AFTER_KILL_MS;
    for (let i = 0; Date.now() < giveUpAt && groupHasLiveMembers(pgid); i++) {
      await systemClock.sleep(Math.min(reapPollDelayMs(i), Math.max(1, giveUpAt - Date.now())));
    }
  }

  private outcome(exit: Exit): ExecOutcome {
    return {
      status: this.status(exit),
      exitCode: exit.code,
      signal: exit.signal,
      stdout: this.stdout.text(),
      stderr: this.stderr.text(),
      outputTruncated: this.stdout.truncated || this.stderr.truncated,
      error: this.killReason === null ? null : KILL_MESSAGES[this.killReason](this.req),
      connectFailed: false,
      startedAt: this.startedAt,
      finishedAt: this.opts.clock.now(),
      host: this.opts.host,
    };
  }

  private status(exit: Exit): ExecOutcome['status'] {
    if (this.killReason === 'timeout') return 'timed_out';
    if (this.killReason !== null) return 'cancelled';
    return exit.code === 0 ? 'succeeded' : 'failed';
  }
}
