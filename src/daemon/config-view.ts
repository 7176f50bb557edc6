import type { Logger } from '../core/log.js';
import type { ConfigProblem, JobDef, NodeDef, ResourcePoolDef } from '../core/types.js';
import { compileSchedule } from '../schedule/index.js';
import type { JobChange, JobTable } from './job-table.js';

export interface ConfigState {
  jobs: ReadonlyMap<string, JobDef>;
  nodes: ReadonlyMap<string, NodeDef>;
  /** Resource pools (resources.d); absent: none. */
  resources?: ReadonlyMap<string, ResourcePoolDef>;
  problems: ConfigProblem[];
}

/** A config snapshot compared with what is loaded, not yet made current: see prepare() and commit(). */
export interface PreparedConfig extends JobChange {
  state: ConfigState;
  nodesRemoved: string[];
  /** Jobs whose schedule does not compile: their last good version stays. */
  compileProblems: ConfigProblem[];
}

/**
 * The daemon's view of the config besides the jobs (which the JobTable holds): the nodes and
 * every problem to report. A change is made in two steps: prepare() compares a snapshot with the
 * loaded jobs and compiles the changed schedules without touching anything, and commit() makes
 * nodes and problems current once the job table has taken the jobs, so the two never disagree.
 */
export class ConfigView {
  private nodes: ReadonlyMap<string, NodeDef> = new Map();
  private pools: ReadonlyMap<string, ResourcePoolDef> = new Map();
  private problems: ConfigProblem[] = [];
  private compileProblems: ConfigProblem[] = [];
  private applyProblems: ConfigProblem[] = [];
  private applyFailure = '';

  constructor(
    private readonly timezone: string,
    private readonly logger: Logger,
  ) {}

  /** What applying `state` changes; nothing is changed. */
  prepare(state: ConfigState, loaded: Pick<JobTable, 'job' | 'jobs'>): PreparedConfig {
    const prepared = {
      state,
      upserted: [] as PreparedConfig['upserted'][number][],
      removed: [] as string[],
      nodesRemoved: [...this.nodes.keys()].filter((n) => !state.nodes.has(n)),
      compileProblems: [] as ConfigProblem[],
    };
    for (const [name, job] of state.jobs) {
      if (loaded.job(name) === job) continue;
      const schedule = this.compile(job, prepared.compileProblems);
      if (schedule) prepared.upserted.push({ job, schedule });
    }
    prepared.removed = loaded
      .jobs()
      .map((j) => j.name)
      .filter((n) => !state.jobs.has(n));
    return prepared;
  }

  /** Makes the nodes and problems of a prepared change current (the job table has taken its jobs). */
  commit(prepared: PreparedConfig): void {
    this.nodes = prepared.state.nodes;
    this.pools = prepared.state.resources ?? new Map();
    this.problems = prepared.state.problems;
    this.compileProblems = prepared.compileProblems;
    this.applyProblems = [];
  }

  /** A prepared change that could not be made (`reason`): listed with the config errors until one is. */
  setApplyProblems(problems: ConfigProblem[], reason: string): void {
    this.applyProblems = problems;
    this.applyFailure = reason;
  }

  /** Why the file's last change could not be applied (the store refused it), if that is its problem. */
  applyFailureOf(file: string): string | undefined {
    return this.applyProblems.some((p) => p.file === file) ? this.applyFailure : undefined;
  }

  nodeMap(): ReadonlyMap<string, NodeDef> {
    return this.nodes;
  }

  /** Resource pools by name (SPEC §16). */
  poolMap(): ReadonlyMap<string, ResourcePoolDef> {
    return this.pools;
  }

  configProblems(): ConfigProblem[] {
    if (this.compileProblems.length + this.applyProblems.length === 0) return this.problems;
    return [...this.problems, ...this.compileProblems, ...this.applyProblems];
  }

  /** The files that fail to load (the error-metric, and jobs whose stored state waits for a fix). */
  filesWithErrors(): Set<string> {
    return new Set(
      this.configProblems()
        .filter((p) => p.severity === 'error')
        .map((p) => p.file),
    );
  }

  private compile(job: JobDef, problems: ConfigProblem[]) {
    try {
      return compileSchedule(job.schedule, { jobName: job.name, defaultTimezone: this.timezone });
    } catch (err) {
      // The config layer validated it already; keep the last good version if this ever happens.
      this.logger.error({ err, job: job.name }, 'schedule does not compile; keeping the previous version');
      const message = `schedule of job "${job.name}" does not compile (${errorText(err)}); the previous version stays active`;
      problems.push({ file: job.file, line: 1, column: 1, path: '$.schedule', message, severity: 'error' });
      return null;
    }
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
