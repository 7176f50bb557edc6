import { mkdirSync, mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger, type Logger } from '../../src/core/log.js';
import type { RunRecord } from '../../src/core/types.js';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.js';
import type { DaemonOptions } from '../../src/daemon/options.js';
import { SqliteAsyncStore } from '../../src/store/sqlite-async.js';
import { ScriptedExecutor } from './scripted-executor.js';

/** A temp directory with jobs.d, nodes.d and a SQLite file; removed by cleanup(). */
export class DaemonEnv {
  readonly dir = mkdtempSync(join(tmpdir(), 'distcron-test-'));
  readonly jobsDir = join(this.dir, 'jobs.d');
  readonly nodesDir = join(this.dir, 'nodes.d');
  readonly dbPath = join(this.dir, 'data', 'distcron.db');
  private readonly daemons: Daemon[] = [];

  constructor() {
    mkdirSync(this.jobsDir);
    mkdirSync(this.nodesDir);
  }

  writeJob(name: string, body: object): void {
    writeFileSync(join(this.jobsDir, `${name}.json`), JSON.stringify(body, null, 2));
  }

  removeJob(name: string): void {
    unlinkSync(join(this.jobsDir, `${name}.json`));
  }

  writeNode(name: string, body: object = { roles: ['web'], connection_type: 'local' }): void {
    writeFileSync(join(this.nodesDir, `${name}.json`), JSON.stringify(body, null, 2));
  }

  /** Flags of a daemon process on this directory: its config and SQLite file, no API, UTC. */
  processArgs(...extra: string[]): string[] {
    const dirs = ['--jobs-dir', this.jobsDir, '--nodes-dir', this.nodesDir, '--db', this.dbPath];
    return [...dirs, '--listen', 'off', '--timezone', 'UTC', ...extra];
  }

  options(extra: Partial<DaemonOptions> = {}): Partial<DaemonOptions> {
    return {
      jobsDir: this.jobsDir,
      nodesDir: this.nodesDir,
      dbPath: this.dbPath,
      listen: null,
      timezone: 'UTC',
      ...extra,
    };
  }

  /** A daemon on a manual clock with a scripted executor (scheduling-engine tests). */
  async startScripted(
    clock: ManualClock,
    extra: Partial<DaemonOptions> = {},
  ): Promise<{ daemon: Daemon; executor: ScriptedExecutor }> {
    const executor = new ScriptedExecutor(clock);
    const daemon = await startDaemon(this.options({ shutdownGraceMs: 0, ...extra }), {
      clock,
      executor,
      logger: silentLogger(),
    });
    this.daemons.push(daemon);
    return { daemon, executor };
  }

  async start(extra: Partial<DaemonOptions> = {}, runtime: { logger?: Logger } = {}): Promise<Daemon> {
    const daemon = await startDaemon(this.options(extra), { logger: silentLogger(), ...runtime });
    this.daemons.push(daemon);
    return daemon;
  }

  async cleanup(): Promise<void> {
    for (const d of this.daemons) await d.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Lets timers-free async work (fires, finishing runs) run to completion. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** The job's runs, oldest first: read synchronously from the daemon's SQLite store (same connection). */
export function runsOf(daemon: Daemon, job: string): RunRecord[] {
  if (!(daemon.store instanceof SqliteAsyncStore))
    throw new Error('runsOf: a SQLite daemon only; use runsOfAsync');
  return daemon.store.syncStore.queryRuns({ job, limit: 1000, withOutput: true }).runs.reverse();
}

/** The job's runs, oldest first, on either store. */
export async function runsOfAsync(daemon: Daemon, job: string): Promise<RunRecord[]> {
  return (await daemon.control.listRuns({ job, limit: 1000, withOutput: true })).runs.reverse();
}
