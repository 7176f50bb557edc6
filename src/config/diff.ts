/** What changed between two snapshots, by name. Pure. */
import { isDeepStrictEqual } from 'node:util';
import type { ConfigProblem } from '../core/types.js';
import type { ConfigSnapshot } from './table.js';

export interface NameDiff {
  added: string[];
  changed: string[];
  removed: string[];
}

export interface ConfigDiff {
  jobs: NameDiff;
  nodes: NameDiff;
}

export function diffSnapshots(before: ConfigSnapshot, after: ConfigSnapshot): ConfigDiff {
  return { jobs: diffMaps(before.jobs, after.jobs), nodes: diffMaps(before.nodes, after.nodes) };
}

export function isEmptyDiff(diff: ConfigDiff): boolean {
  return [diff.jobs, diff.nodes].every((d) => d.added.length + d.changed.length + d.removed.length === 0);
}

export function sameProblems(a: readonly ConfigProblem[], b: readonly ConfigProblem[]): boolean {
  return a.length === b.length && isDeepStrictEqual(a, b);
}

function diffMaps<T>(before: ReadonlyMap<string, T>, after: ReadonlyMap<string, T>): NameDiff {
  const diff: NameDiff = { added: [], changed: [], removed: [] };
  for (const [name, def] of after) {
    const old = before.get(name);
    if (old === undefined) diff.added.push(name);
    else if (old !== def && !isDeepStrictEqual(old, def)) diff.changed.push(name);
  }
  for (const name of before.keys()) if (!after.has(name)) diff.removed.push(name);
  for (const list of [diff.added, diff.changed, diff.removed]) list.sort();
  return diff;
}
