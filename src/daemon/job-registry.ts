import type { Logger } from '../core/log.js';
import type { ConfigProblem, JobDef, NodeDef } from '../core/types.js';
import { compileSchedule } from '../schedule/index.js';
import type { Schedule } from '../schedule/schedule.js';

export interface ConfigState {
  jobs: ReadonlyMap<string, JobDef>;
  nodes: ReadonlyMap<string, NodeDef>;
  problems: ConfigProblem[];
}

export interface RegistryDiff {
  /** Jobs whose definition is new or changed, with their compiled schedule. */
  upserted: { job: JobDef; schedule: Schedule }[];
  removed: string[];
  nodesRemoved: string[];
}

/** A config change computed against the registry but not yet made: see prepare() and commit(). */
export interface PreparedConfig extends RegistryDiff {
  state: ConfigState;
  /** Jobs whose schedule does not compile: their last good version stays. */
  compileProblems: ConfigProblem[];
}

/**
 * The daemon's current view of the config: the last good version of every job and node, and
 * each job's compiled schedule. A change is applied in two steps: prepare() computes what the
 * scheduler must change without touching anything, and commit() makes it current once the
 * scheduler has taken it, so the two never disagree.
 */
export class JobRegistry {
  private jobs = new Map<string, JobDef>();
  private nodes: ReadonlyMap<string, NodeDef> = new Map();
  private readonly schedules = new Map<string, Schedule>();
  private problems: ConfigProblem[] = [];
  private compileProblems: ConfigProblem[] = [];
  private applyProblems: ConfigProblem[] = [];
  /** Frozen list of the current definitions; replaced (never mutated) when anything changes. */
  private definitions: readonly JobDef[] | null = null;

  constructor(
    private readonly timezone: string,
    private readonly logger: Logger,
  ) {}

  /** prepare() and commit() at once: for the first load, before anything reads the registry. */
  apply(state: ConfigState): RegistryDiff {
    const prepared = this.prepare(state);
    this.commit(prepared);
    return prepared;
  }

  /** What applying `state` changes; the registry itself is left as it is. */
  prepare(state: ConfigState): PreparedConfig {
    const prepared: PreparedConfig = {
      state,
      upserted: [],
      removed: [],
      nodesRemoved: [],
      compileProblems: [],
    };
    const hadJobs = this.jobs.size > 0;
    for (const [name, job] of state.jobs) {
      if (this.jobs.get(name) === job) continue;
      const schedule = this.compile(job, prepared.compileProblems);
      if (schedule) prepared.upserted.push({ job, schedule });
    }
    if (hadJobs) prepared.removed = [...this.jobs.keys()].filter((n) => !state.jobs.has(n));
    prepared.nodesRemoved = [...this.nodes.keys()].filter((n) => !state.nodes.has(n));
    return prepared;
  }

  /** Makes a prepared change current (the scheduler has taken it). */
  commit(prepared: PreparedConfig): void {
    for (const { job, schedule } of prepared.upserted) {
      this.jobs.set(job.name, job);
      this.schedules.set(job.name, schedule);
    }
    for (const name of prepared.removed) {
      this.jobs.delete(name);
      this.schedules.delete(name);
    }
    if (prepared.upserted.length + prepared.removed.length > 0) this.definitions = null;
    this.nodes = prepared.state.nodes;
    this.problems = prepared.state.problems;
    this.compileProblems = prepared.compileProblems;
    this.applyProblems = [];
  }

  /** A prepared change that could not be made: listed with the config errors until one is. */
  setApplyProblems(problems: ConfigProblem[]): void {
    this.applyProblems = problems;
  }

  job(name: string): JobDef | undefined {
    return this.jobs.get(name);
  }

  allJobs(): IterableIterator<JobDef> {
    return this.jobs.values();
  }

  /** The same array until a job changes: lets the API reuse its sorted index of 100k jobs. */
  definitionList(): readonly JobDef[] {
    this.definitions ??= Object.freeze([...this.jobs.values()]);
    return this.definitions;
  }

  schedule(name: string): Schedule | undefined {
    return this.schedules.get(name);
  }

  nodeMap(): ReadonlyMap<string, NodeDef> {
    return this.nodes;
  }

  configProblems(): ConfigProblem[] {
    if (this.compileProblems.length + this.applyProblems.length === 0) return this.problems;
    return [...this.problems, ...this.compileProblems, ...this.applyProblems];
  }

  private compile(job: JobDef, problems: ConfigProblem[]): Schedule | null {
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
