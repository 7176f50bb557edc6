/**
 * The loaded state of every config file (last good definition + current problems), and the
 * snapshot built from it. Shared by loadConfig and the watcher. Pure.
 */
import type { ConfigProblem, JobDef, NodeDef } from '../core/types.js';
import { crossCheck } from './cross-check.js';
import { configNameOf, nameProblem } from './names.js';
import { parseJobText } from './parse-job.js';
import { parseNodeText } from './parse-node.js';

export interface ConfigSnapshot {
  jobs: Map<string, JobDef>;
  nodes: Map<string, NodeDef>;
  /** Every problem currently known: files failing to load (even when an older version stays active), collisions, cross-file checks. */
  problems: ConfigProblem[];
}

export type Kind = 'job' | 'node';

export interface FileEntry<T> {
  name: string;
  /** The last version that parsed without errors; stays active while the file is broken. */
  def?: T;
  problems: ConfigProblem[];
}

export type FileInput = { ok: true; text: string } | { ok: false; error: string };

export class ConfigTable {
  readonly jobFiles = new DefIndex<JobDef>('job');
  readonly nodeFiles = new DefIndex<NodeDef>('node');
  /** Problems that belong to a directory rather than one file, per root. */
  readonly dirProblems = new Map<string, ConfigProblem[]>();

  constructor(
    private readonly defaultTimezone: string,
    private readonly resolve: (file: string) => string = (f) => f,
  ) {}

  /** Re-parses one file; on failure its last good definition is kept. */
  update(kind: Kind, file: string, input: FileInput): void {
    const tz = { defaultTimezone: this.defaultTimezone };
    if (kind === 'job') {
      this.updateIn(this.jobFiles, file, input, (text) => {
        const { job, problems } = parseJobText(file, text, tz);
        return { def: job, problems };
      });
    } else {
      this.updateIn(this.nodeFiles, file, input, (text) => {
        const { node, problems } = parseNodeText(file, text);
        return { def: node, problems };
      });
    }
  }

  remove(kind: Kind, file: string): void {
    (kind === 'job' ? this.jobFiles : this.nodeFiles).delete(file);
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
      const { def, problems } = parse(input.text);
      if (def) def.file = this.resolve(file);
      entry = def ? { name, def, problems } : { name, problems };
    }
    const previous = files.get(file)?.def;
    if (!entry.def && previous) entry.def = previous;
    files.set(file, entry);
  }

  snapshot(): ConfigSnapshot {
    const problems: ConfigProblem[] = [];
    for (const list of this.dirProblems.values()) problems.push(...list);
    const nodes = this.nodeFiles.pick(problems);
    const jobs = this.jobFiles.pick(problems);
    problems.push(...crossCheck(jobs, nodes));
    return { jobs, nodes, problems };
  }
}

/**
 * The files of one kind, indexed by name, so a snapshot costs one pass over the names (no
 * sorting of 100k paths per change). When two files give the same name, the first path
 * (sorted) wins and the others are reported.
 */
export class DefIndex<T> {
  readonly files = new Map<string, FileEntry<T>>();
  private readonly byName = new Map<string, string[]>();
  private readonly failing = new Set<string>();

  constructor(private readonly what: Kind) {}

  get(file: string): FileEntry<T> | undefined {
    return this.files.get(file);
  }

  has(file: string): boolean {
    return this.files.has(file);
  }

  keys(): IterableIterator<string> {
    return this.files.keys();
  }

  set(file: string, entry: FileEntry<T>): void {
    if (!this.files.has(file)) {
      const list = this.byName.get(entry.name);
      if (list) insertSorted(list, file);
      else this.byName.set(entry.name, [file]);
    }
    this.files.set(file, entry);
    if (entry.problems.length > 0) this.failing.add(file);
    else this.failing.delete(file);
  }

  delete(file: string): void {
    const entry = this.files.get(file);
    if (!entry) return;
    this.files.delete(file);
    this.failing.delete(file);
    const list = this.byName.get(entry.name)!;
    list.splice(list.indexOf(file), 1);
    if (list.length === 0) this.byName.delete(entry.name);
  }

  /** name → active definition; appends file problems and name collisions to `problems`. */
  pick(problems: ConfigProblem[]): Map<string, T> {
    for (const file of [...this.failing].sort()) problems.push(...this.files.get(file)!.problems);
    const out = new Map<string, T>();
    for (const [name, list] of this.byName) {
      const def = this.files.get(list[0]!)!.def;
      if (def) out.set(name, def);
      for (const other of list.slice(1)) problems.push(this.collision(name, other, list[0]!));
    }
    return out;
  }

  private collision(name: string, file: string, winner: string): ConfigProblem {
    const message = `duplicate ${this.what} name "${name}": also defined by ${winner} (which is used); rename or remove one of the two files`;
    return fileProblem(file, message);
  }
}

function insertSorted(list: string[], file: string): void {
  let i = list.length;
  while (i > 0 && list[i - 1]! > file) i--;
  list.splice(i, 0, file);
}

function fileProblem(file: string, message: string): ConfigProblem {
  return { file, line: 1, column: 1, path: '$', message, severity: 'error' };
}
