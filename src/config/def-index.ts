/**
 * The files of one kind (jobs or nodes), indexed by name. Snapshots are built incrementally:
 * only names whose files were touched since the last snapshot are looked at again, so one
 * change among 100,000 files costs a map copy, not a pass over every definition. Pure.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ConfigProblem } from '../core/types.js';
import type { NameDiff } from './diff.js';

export type Kind = 'job' | 'node' | 'resource';

export interface FileEntry<T> {
  name: string;
  /** The last version that parsed without errors; stays active while the file is broken. */
  def?: T;
  problems: ConfigProblem[];
}

export class DefIndex<T> {
  private readonly files = new Map<string, FileEntry<T>>();
  /**
   * name → the file giving that name, or the files (sorted; the first one is used) when several
   * do: a name has one file almost always, and an array per name is measurable at 100k files.
   */
  private readonly byName = new Map<string, string | string[]>();
  private readonly failing = new Set<string>();
  private readonly collided = new Set<string>();
  /** Names touched since the last pick; not kept before the first (that one looks at every name). */
  private touched = new Set<string>();
  private picked = false;

  constructor(private readonly what: Kind) {}

  get(file: string): FileEntry<T> | undefined {
    return this.files.get(file);
  }

  has(file: string): boolean {
    return this.files.has(file);
  }

  keys(): string[] {
    return [...this.files.keys()];
  }

  /** Stores `entry` for `file`; without a definition it keeps the file's last good one. */
  set(file: string, entry: FileEntry<T>): void {
    const before = this.files.get(file);
    if (!before) this.addName(entry.name, file);
    else if (!entry.def && before.def) entry.def = before.def;
    this.files.set(file, entry);
    if (entry.problems.length > 0) this.failing.add(file);
    else if (before) this.failing.delete(file);
    if (this.picked) this.touched.add(entry.name);
  }

  delete(file: string): void {
    const entry = this.files.get(file);
    if (!entry) return;
    this.files.delete(file);
    this.failing.delete(file);
    const list = this.filesNamed(entry.name);
    list.splice(list.indexOf(file), 1);
    if (list.length === 0) this.byName.delete(entry.name);
    else this.byName.set(entry.name, list.length === 1 ? list[0]! : list);
    if (list.length < 2) this.collided.delete(entry.name);
    if (this.picked) this.touched.add(entry.name);
  }

  private addName(name: string, file: string): void {
    if (!this.byName.has(name)) return void this.byName.set(name, file);
    const list = this.filesNamed(name);
    let i = list.length;
    while (i > 0 && list[i - 1]! > file) i--;
    list.splice(i, 0, file);
    this.byName.set(name, list);
    this.collided.add(name);
  }

  /** The files giving `name`, sorted (a new array when there is one file). */
  private filesNamed(name: string): string[] {
    const files = this.byName.get(name);
    if (files === undefined) return [];
    return typeof files === 'string' ? [files] : files;
  }

  /** name → active definition, built from `previous` plus the names touched since. */
  pick(previous?: ReadonlyMap<string, T>): { defs: Map<string, T>; diff: NameDiff; touched: string[] } {
    if (!previous && this.collided.size === 0) return this.firstPick();
    const touched = !previous
      ? [...this.byName.keys()]
      : this.picked
        ? [...this.touched].sort()
        : [...new Set([...previous.keys(), ...this.byName.keys()])].sort();
    this.touched = new Set();
    this.picked = true;
    const defs = previous ? new Map(previous) : new Map<string, T>();
    const diff: NameDiff = { added: [], changed: [], removed: [] };
    for (const name of touched) {
      const before = previous?.get(name);
      const after = this.activeDef(name);
      if (after === undefined) defs.delete(name);
      else defs.set(name, after);
      if (!previous) continue;
      if (before === undefined && after !== undefined) diff.added.push(name);
      else if (before !== undefined && after === undefined) diff.removed.push(name);
      else if (before !== after && !isDeepStrictEqual(before, after)) diff.changed.push(name);
    }
    return { defs, diff, touched };
  }

  /** The first pick without name collisions: each file gives its own name (one pass, no lookups). */
  private firstPick(): { defs: Map<string, T>; diff: NameDiff; touched: string[] } {
    this.touched = new Set();
    this.picked = true;
    const defs = new Map<string, T>();
    const touched: string[] = [];
    for (const entry of this.files.values()) {
      touched.push(entry.name);
      if (entry.def !== undefined) defs.set(entry.name, entry.def);
    }
    return { defs, diff: { added: [], changed: [], removed: [] }, touched };
  }

  private activeDef(name: string): T | undefined {
    const files = this.byName.get(name);
    const first = typeof files === 'string' ? files : files?.[0];
    return first === undefined ? undefined : this.files.get(first)!.def;
  }

  /** Problems of files that currently fail, and of files that lose a name collision. */
  problems(): ConfigProblem[] {
    const out: ConfigProblem[] = [];
    for (const file of this.failing) out.push(...this.files.get(file)!.problems);
    for (const name of this.collided) {
      const [winner, ...others] = this.filesNamed(name);
      for (const other of others) out.push(this.collision(name, other, winner!));
    }
    return out;
  }

  private collision(name: string, file: string, winner: string): ConfigProblem {
    const message = `duplicate ${this.what} name "${name}": also defined by ${winner} (which is used); rename or remove one of the two files`;
    return { file, line: 1, column: 1, path: '$', message, severity: 'error' };
  }
}
