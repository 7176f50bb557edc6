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
  readonly jobFiles = new Map<string, FileEntry<JobDef>>();
  readonly nodeFiles = new Map<string, FileEntry<NodeDef>>();
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
    files: Map<string, FileEntry<T>>,
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
    const jobs = pickByName(this.jobFiles, 'job', problems);
    const nodes = pickByName(this.nodeFiles, 'node', problems);
    problems.push(...crossCheck(jobs, nodes));
    return { jobs, nodes, problems };
  }
}

/** One definition per name; when two files give the same name, the first path (sorted) wins. */
function pickByName<T>(
  files: Map<string, FileEntry<T>>,
  what: Kind,
  problems: ConfigProblem[],
): Map<string, T> {
  const owner = new Map<string, string>();
  const out = new Map<string, T>();
  for (const file of [...files.keys()].sort()) {
    const entry = files.get(file)!;
    problems.push(...entry.problems);
    const first = owner.get(entry.name);
    if (first !== undefined) {
      problems.push(
        fileProblem(
          file,
          `duplicate ${what} name "${entry.name}": also defined by ${first} (which is used); rename or remove one of the two files`,
        ),
      );
      continue;
    }
    owner.set(entry.name, file);
    if (entry.def) out.set(entry.name, entry.def);
  }
  return out;
}

function fileProblem(file: string, message: string): ConfigProblem {
  return { file, line: 1, column: 1, path: '$', message, severity: 'error' };
}
