/** What changed between two snapshots, by name. Pure. */
import { isDeepStrictEqual } from 'node:util';
import type { ConfigProblem } from '../core/types.js';

/**
 * Names in sorted order, except in the first snapshot's diff (everything added), which lists
 * them in load order: nothing needs that order, and sorting 100,000 names costs ~80 ms of start-up.
 */
export interface NameDiff {
  added: string[];
  changed: string[];
  removed: string[];
}

export interface ConfigDiff {
  jobs: NameDiff;
  nodes: NameDiff;
  /** Resource pools (resources.d); absent where no resources directory is read. */
  resources?: NameDiff;
}

export function isEmptyDiff(diff: ConfigDiff): boolean {
  return [diff.jobs, diff.nodes, ...(diff.resources ? [diff.resources] : [])].every(
    (d) => d.added.length + d.changed.length + d.removed.length === 0,
  );
}

export function sameProblems(a: readonly ConfigProblem[], b: readonly ConfigProblem[]): boolean {
  return a.length === b.length && isDeepStrictEqual(a, b);
}
