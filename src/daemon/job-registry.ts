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

/**
 * The daemon's current view of the config: the last good version of every job and node, and
 * each job's compiled schedule. Applying a new snapshot yields what the scheduler must change.
 */
export class JobRegistry {
  private jobs = new Map<string, JobDef>();
  private nodes: ReadonlyMap<string, NodeDef> = new Map();
  private readonly schedules = new Map<string, Schedule>();
  private problems: ConfigProblem[] = [];
  /** Frozen list of the current definitions; replaced (never mutated) when anything changes. */
  private definitions: readonly JobDef[] | null = null;

  constructor(
    private readonly timezone: string,
    private readonly logger: Logger,
  ) {}

  apply(state: ConfigState): RegistryDiff {
    const diff: RegistryDiff = { upserted: [], removed: [], nodesRemoved: [] };
    const hadJobs = this.jobs.size > 0;
    for (const [name, job] of state.jobs) {
      if (this.jobs.get(name) === job) continue;
      const schedule = this.compile(job);
      if (!schedule) continue;
      this.jobs.set(name, job);
      diff.upserted.push({ job, schedule });
    }
    const gone = hadJobs ? [...this.jobs.keys()].filter((n) => !state.jobs.has(n)) : [];
    for (const name of gone) {
      this.jobs.delete(name);
      this.schedules.delete(name);
      diff.removed.push(name);
    }
    if (diff.upserted.length + diff.removed.length > 0) this.definitions = null;
    diff.nodesRemoved = [...this.nodes.keys()].filter((n) => !state.nodes.has(n));
    this.nodes = state.nodes;
    this.problems = state.problems;
    return diff;
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
    return this.problems;
  }

  private compile(job: JobDef): Schedule | null {
    try {
      const schedule = compileSchedule(job.schedule, { jobName: job.name, defaultTimezone: this.timezone });
      this.schedules.set(job.name, schedule);
      return schedule;
    } catch (err) {
      // The config layer validated it already; keep the last good version if this ever happens.
      this.logger.error({ err, job: job.name }, 'schedule does not compile; keeping the previous version');
      return null;
    }
  }
}
