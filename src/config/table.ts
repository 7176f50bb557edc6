/**
 * The loaded state of every config file (last good definition + current problems), and the
 * snapshots built from it, each with the diff to the one before. Shared by loadConfig and the
 * watcher. Pure.
 */
import type { ConfigProblem, JobDef, NodeDef, ResourcePoolDef } from '../core/types.js';
import { checkJobAgainst, checkNodes, NodeIndex } from './cross-check.js';
import { DefIndex, type FileEntry, type Kind } from './def-index.js';
import { checkDependencies } from './dependency-graph.js';
import { isEmptyDiff, type ConfigDiff } from './diff.js';
import { configNameOf, nameProblem } from './names.js';
import { parseJobText } from './parse-job.js';
import { parseNodeText } from './parse-node.js';
import { parseResourceText } from './parse-resources.js';
import { checkJobPools } from './resource-check.js';
import type { ReadFacts } from './read-facts.js';

export type { Kind } from './def-index.js';

export interface ConfigSnapshot {
  jobs: Map<string, JobDef>;
  nodes: Map<string, NodeDef>;
  /** Resource pools by name (resources.d, SPEC §16). */
  resources: Map<string, ResourcePoolDef>;
  /**
   * Every problem currently known, sorted by file and place: files failing to load (even when
   * an older version stays active), name collisions, checks across files.
   */
  problems: ConfigProblem[];
}

/** `facts`: what the reader thread found out about `text` (see read-ahead.ts). */
export type FileInput = { ok: true; text: string; facts?: ReadFacts } | { ok: false; error: string };

interface Published {
  snapshot: ConfigSnapshot;
  /** Cross-file problems per job name (only jobs that have some). */
  jobCross: Map<string, ConfigProblem[]>;
  /** Each job's newest good definition, before dependency errors held some back (snapshot.jobs). */
  candidates: Map<string, JobDef>;
}

export class ConfigTable {
  readonly jobFiles = new DefIndex<JobDef>('job');
  readonly nodeFiles = new DefIndex<NodeDef>('node');
  readonly resourceFiles = new DefIndex<ResourcePoolDef>('resource');
  /** Problems that belong to a directory rather than one file, per root. */
  readonly dirProblems = new Map<string, ConfigProblem[]>();
  private last?: Published;
  /** One options object for every job file parsed (not one per file). */
  private readonly jobOptions: { defaultTimezone: string };

  constructor(
    defaultTimezone: string,
    private readonly resolve: (file: string) => string = (f) => f,
  ) {
    this.jobOptions = { defaultTimezone };
  }

  /** Re-parses one file; on failure its last good definition is kept. */
  update(kind: Kind, file: string, input: FileInput): void {
    if (kind === 'job') {
      const facts = input.ok ? input.facts : undefined;
      this.updateIn(this.jobFiles, file, input, (text) => {
        const { job, problems } = parseJobText(file, text, this.jobOptions, facts);
        return { def: job, problems };
      });
    } else if (kind === 'resource') {
      this.updateIn(this.resourceFiles, file, input, (text) => {
        const { pool, problems } = parseResourceText(file, text);
        return { def: pool, problems };
      });
    } else {
      this.updateIn(this.nodeFiles, file, input, (text) => {
        const { node, problems } = parseNodeText(file, text);
        return { def: node, problems };
      });
    }
  }

  remove(kind: Kind, file: string): void {
    this.filesOf(kind).delete(file);
  }

  filesOf(kind: Kind): DefIndex<JobDef> | DefIndex<NodeDef> | DefIndex<ResourcePoolDef> {
    if (kind === 'job') return this.jobFiles;
    return kind === 'node' ? this.nodeFiles : this.resourceFiles;
  }

  private updateIn<T extends { file: string }>(
    files: DefIndex<T>,
    file: string,
    input: FileInput,
    parse: (text: string) => { def?: T | undefined; problems: ConfigProblem[] },
  ): void {
    const name = configNameOf(file);
    const badName = nameProblem(name);
    let entry: FileEntry<T>;
    if (badName)
      entry = { name, problems: [fileProblem(file, `invalid file name: ${badName}; rename the file`)] };
    else if (!input.ok) entry = { name, problems: [fileProblem(file, input.error)] };
    else {
      const { def, problems } = parseSafely(file, () => parse(input.text));
      if (def) def.file = this.resolve(file);
      entry = def ? { name, def, problems } : { name, problems };
    }
    files.set(file, entry);
  }

  snapshot(): ConfigSnapshot {
    return this.publish().snapshot;
  }

  /** A new snapshot, and what changed since the previous call (everything is "added" the first time). */
  publish(): { snapshot: ConfigSnapshot; diff: ConfigDiff } {
    const last = this.last;
    const nodes = this.nodeFiles.pick(last?.snapshot.nodes);
    const pools = this.resourceFiles.pick(last?.snapshot.resources);
    const jobs = this.jobFiles.pick(last?.candidates);
    const index = new NodeIndex(nodes.defs.values(), pools.defs);
    const othersChanged =
      !last || !isEmptyDiff({ jobs: emptyNames(), nodes: nodes.diff, resources: pools.diff });
    const jobCross = othersChanged
      ? crossAll(jobs.defs, index)
      : crossSome(last.jobCross, jobs.defs, jobs.touched, index);
    const problems = [...this.dirProblems.values()].flat();
    problems.push(...this.nodeFiles.problems(), ...this.jobFiles.problems(), ...checkNodes(index));
    problems.push(...this.resourceFiles.problems());
    for (const list of jobCross.values()) problems.push(...list);
    const dependencies = checkDependencies(jobs.defs, last?.snapshot.jobs);
    problems.push(...dependencies.problems);
    const snapshot = {
      jobs: dependencies.active,
      nodes: nodes.defs,
      resources: pools.defs,
      problems: problems.sort(byPlace),
    };
    this.last = { snapshot, jobCross, candidates: jobs.defs };
    const diff = last
      ? { jobs: jobs.diff, nodes: nodes.diff, resources: pools.diff }
      : everythingAdded(snapshot);
    return { snapshot, diff };
  }
}

/** A defect in a checker must not take the daemon down with one odd file: it becomes a problem of that file. */
function parseSafely<T>(
  file: string,
  parse: () => { def?: T | undefined; problems: ConfigProblem[] },
): { def?: T | undefined; problems: ConfigProblem[] } {
  try {
    return parse();
  } catch (err) {
    return {
      problems: [
        fileProblem(
          file,
          `internal error while checking this file (please report it): ${(err as Error).message}`,
        ),
      ],
    };
  }
}

function crossAll(jobs: Map<string, JobDef>, index: NodeIndex): Map<string, ConfigProblem[]> {
  const out = new Map<string, ConfigProblem[]>();
  for (const [name, job] of jobs) {
    const problems = checkJobAll(job, index);
    if (problems.length > 0) out.set(name, problems);
  }
  return out;
}

/** Nodes unchanged: only the touched jobs can have gained or lost cross-file problems. */
function crossSome(
  previous: Map<string, ConfigProblem[]>,
  jobs: Map<string, JobDef>,
  touched: readonly string[],
  index: NodeIndex,
): Map<string, ConfigProblem[]> {
  const out = new Map(previous);
  for (const name of touched) {
    const job = jobs.get(name);
    const problems = job ? checkJobAll(job, index) : [];
    if (problems.length > 0) out.set(name, problems);
    else out.delete(name);
  }
  return out;
}

function checkJobAll(job: JobDef, index: NodeIndex): ConfigProblem[] {
  const problems = checkJobAgainst(job, index);
  if (!job.resources) return problems;
  const pools = checkJobPools(job, index.pools);
  return pools.length === 0 ? problems : [...problems, ...pools];
}

const emptyNames = () => ({ added: [], changed: [], removed: [] });

function everythingAdded(snapshot: ConfigSnapshot): ConfigDiff {
  const names = (m: Map<string, unknown>) => ({ added: [...m.keys()], changed: [], removed: [] });
  return { jobs: names(snapshot.jobs), nodes: names(snapshot.nodes), resources: names(snapshot.resources) };
}

function byPlace(a: ConfigProblem, b: ConfigProblem): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column;
}

function fileProblem(file: string, message: string): ConfigProblem {
  return { file, line: 1, column: 1, path: '$', message, severity: 'error' };
}
