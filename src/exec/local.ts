import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { systemClock, type Clock } from '../core/clock.js';
import type { NodeDef } from '../core/types.js';
import { errorOutcome, type ExecOutcome, type ExecRequest, type Executor } from './executor.js';
import { baseEnvironment } from './job-env.js';
import { LocalRun } from './local-run.js';
import { planSpawn } from './local-spawn.js';
import { withSetupFailure } from './setup-failure.js';

export interface LocalExecutorOptions {
  /** After SIGTERM to the process group, how long until SIGKILL. */
  killGraceMs?: number;
  /**
   * After the command exited, how long to wait for its stdout/stderr to close before a
   * background process still holding them is killed with its group.
   */
  pipeDrainMs?: number;
  /** Source of startedAt/finishedAt. */
  clock?: Clock;
  /**
   * The environment jobs start from (the job's own variables go on top). Default: the fixed
   * base set taken from this process (never all of it: the daemon's secrets live there).
   */
  baseEnv?: Readonly<Record<string, string>>;
}

export const LOCAL_EXECUTOR_DEFAULTS = { killGraceMs: 5000, pipeDrainMs: 2000 } as const;

/**
 * Runs commands on the daemon's own host (`connection_type: "local"`). Each run leads its own
 * process group, with stdin closed; a background process the command leaves behind keeps
 * running only if it let go of the command's stdout and stderr (a daemonized service).
 */
export class LocalExecutor implements Executor {
  private readonly killGraceMs: number;
  private readonly pipeDrainMs: number;
  private readonly clock: Clock;
  private readonly baseEnv: Readonly<Record<string, string>>;
  private readonly host = hostname();
  private readonly running = new Set<LocalRun>();
  private closed = false;

  constructor(options: LocalExecutorOptions = {}) {
    this.killGraceMs = options.killGraceMs ?? LOCAL_EXECUTOR_DEFAULTS.killGraceMs;
    this.pipeDrainMs = options.pipeDrainMs ?? LOCAL_EXECUTOR_DEFAULTS.pipeDrainMs;
    this.clock = options.clock ?? systemClock;
    this.baseEnv = options.baseEnv ?? baseEnvironment(process.env);
  }

  async run(_node: NodeDef, req: ExecRequest): Promise<ExecOutcome> {
    if (this.closed) return this.closedOutcome();
    if (req.signal.aborted) return this.cancelledBeforeStart();
    const plan = await planSpawn(req.command, req.environment, this.baseEnv, req.workingDirectory);
    if (typeof plan === 'string') return errorOutcome(plan, this.clock.now(), false, this.host);
    if (this.closed || req.signal.aborted) {
      if (plan.uploadDir !== undefined) await rm(plan.uploadDir, { recursive: true, force: true });
      return this.closed ? this.closedOutcome() : this.cancelledBeforeStart();
    }
    const run = new LocalRun(req, plan, this.runOptions());
    this.running.add(run);
    try {
      return withSetupFailure(await run.execute(), req, `the local host (${this.host})`);
    } finally {
      this.running.delete(run);
      if (plan.uploadDir !== undefined) await rm(plan.uploadDir, { recursive: true, force: true });
    }
  }

  /** The local host is always reachable. */
  async probe(_node: NodeDef): Promise<void> {}

  /** SIGKILLs every running process group and waits for those runs to end. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.running].map((run) => run.shutdown()));
  }

  private runOptions() {
    return {
      killGraceMs: this.killGraceMs,
      pipeDrainMs: this.pipeDrainMs,
      clock: this.clock,
      host: this.host,
    };
  }

  private cancelledBeforeStart(): ExecOutcome {
    const outcome = errorOutcome(
      'local: cancelled before the command started',
      this.clock.now(),
      false,
      this.host,
    );
    return { ...outcome, status: 'cancelled' };
  }

  private closedOutcome(): ExecOutcome {
    return errorOutcome(
      'local: the executor is closed (daemon shutting down); run not started',
      this.clock.now(),
      false,
      this.host,
    );
  }
}
