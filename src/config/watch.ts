/**
 * ConfigWatcher: keeps a ConfigSnapshot current while files in jobs.d / nodes.d come and go.
 * inotify events (one watch per directory) mark paths dirty; after a short debounce only those
 * paths are looked at again. A periodic rescan (stat only, adaptive interval) catches what
 * events miss (network file systems, overflowed queues). A broken file keeps its last good
 * definition active and is listed in snapshot.problems. Never throws over what is on disk. I/O.
 */
import { EventEmitter } from 'node:events';
import { lstatSync, statSync, type Stats } from 'node:fs';
import { basename, resolve, sep } from 'node:path';
import { isEmptyDiff, sameProblems, type ConfigDiff } from './diff.js';
import { DirWatchers } from './dir-watchers.js';
import { absolutePaths, loadInto, readAll, readOne } from './load.js';
import { isConfigFileName, isSkippedDirName } from './names.js';
import { sameStamp, stampOf, type FileStamp } from './read-file.js';
import { dirProblem, scanConfigDir } from './scan.js';
import { ConfigTable, type ConfigSnapshot, type Kind } from './table.js';

export interface ConfigWatcherOptions {
  jobsDir: string;
  nodesDir: string;
  /** resources.d (SPEC §16); watched like the others, but its absence is not a problem. */
  resourcesDir?: string;
  defaultTimezone: string;
  /** Quiet time after the last event before files are re-read (editors write in bursts). */
  debounceMs?: number;
  /** Shortest time between two safety rescans; stretched to 50× the last rescan's cost. */
  rescanIntervalMs?: number;
  /** Called after each change, like a 'change' listener. */
  onChange?: (event: ConfigChangeEvent) => void;
  /** A defect inside the watcher (never bad input: that becomes a problem); it keeps running. */
  onError?: (err: Error) => void;
}

export interface ConfigChangeEvent {
  snapshot: ConfigSnapshot;
  diff: ConfigDiff;
}

const DEFAULTS = { debounceMs: 75, rescanIntervalMs: 5_000 };
const MAX_RESCAN_INTERVAL_MS = 5 * 60_000;
// The rescan is a safety net behind inotify (missed events, network filesystems): keep it under
// ~0.2 % of a core. At 100k files a stat pass costs ~1 s of CPU, so it runs every 5 min there.
const RESCAN_COST_FACTOR = 500;
const STAT_BATCH = 1024;

interface Root {
  kind: Kind;
  dir: string;
  what: 'jobs' | 'nodes' | 'resources';
  present: boolean;
}

export class ConfigWatcher extends EventEmitter {
  private readonly opts: Required<Omit<ConfigWatcherOptions, 'onChange' | 'onError' | 'resourcesDir'>> &
    Pick<ConfigWatcherOptions, 'onChange' | 'onError' | 'resourcesDir'>;
  private readonly table: ConfigTable;
  private readonly roots: Root[];
  private readonly stamps = new Map<string, FileStamp>();
  private readonly dirty = new Set<string>();
  private readonly dirs: DirWatchers;
  private current: ConfigSnapshot = { jobs: new Map(), nodes: new Map(), resources: new Map(), problems: [] };
  private work: Promise<unknown> = Promise.resolve();
  private debounceTimer?: NodeJS.Timeout;
  private rescanTimer?: NodeJS.Timeout;
  private started?: Promise<ConfigSnapshot>;
  private closed = false;

  constructor(options: ConfigWatcherOptions) {
    super();
    // Event paths are built from the watched directory's name and matched against the roots by
    // prefix: "./jobs.d", "jobs.d/" or "../x" must all become one spelling, or events are dropped.
    const dirs = {
      jobsDir: resolve(options.jobsDir),
      nodesDir: resolve(options.nodesDir),
      resourcesDir: options.resourcesDir === undefined ? undefined : resolve(options.resourcesDir),
    };
    this.opts = { ...DEFAULTS, ...options, ...dirs };
    this.table = new ConfigTable(options.defaultTimezone, absolutePaths(dirs));
    this.roots = [
      { kind: 'node', dir: dirs.nodesDir, what: 'nodes', present: true },
      { kind: 'job', dir: dirs.jobsDir, what: 'jobs', present: true },
    ];
    if (dirs.resourcesDir)
      this.roots.push({ kind: 'resource', dir: dirs.resourcesDir, what: 'resources', present: true });
    this.dirs = new DirWatchers((path) => this.markDirty(path));
    if (options.onChange) this.on('change', options.onChange);
  }

  /** Loads everything and starts watching; resolves with the first snapshot. Idempotent. */
  start(): Promise<ConfigSnapshot> {
    this.started ??= this.serial(() => this.initialLoad());
    return this.started;
  }

  get snapshot(): ConfigSnapshot {
    return this.current;
  }

  /** SIGHUP: every file re-read, directories rescanned. Resolves with the change it made, if any. */
  reloadAll(): Promise<ConfigChangeEvent | undefined> {
    return this.serial(() => this.passOverRoots(true));
  }

  /** The periodic safety rescan, now: only files whose stat changed are re-read. */
  rescan(): Promise<ConfigChangeEvent | undefined> {
    return this.serial(() => this.passOverRoots(false));
  }

  /**
   * Looks at these paths now (e.g. the file an API write just replaced or removed) without
   * waiting for the inotify event; cheap at any number of files, unlike rescan().
   */
  refresh(paths: readonly string[]): Promise<ConfigChangeEvent | undefined> {
    return this.serial(async () => {
      if (this.closed || !this.started) return undefined;
      for (const path of paths) await this.revisit(resolve(path));
      return this.publish();
    });
  }

  /** Before start() there is nothing to compare with: start() does the first load. */
  private async passOverRoots(force: boolean): Promise<ConfigChangeEvent | undefined> {
    if (this.closed || !this.started) return undefined;
    for (const root of this.roots) await this.rescanRoot(root, force);
    return this.publish();
  }

  /** Stops watching. Idempotent; pending work is dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.debounceTimer);
    clearTimeout(this.rescanTimer);
    this.dirs.closeAll();
    this.dirty.clear();
  }

  /**
   * Watches are attached between scanning and reading, so edits made during a long load are
   * seen. Files are read without stat stamps (faster); the first safety rescan adopts the
   * stamps of files it already knows instead of re-reading them.
   */
  private async initialLoad(): Promise<ConfigSnapshot> {
    const began = performance.now();
    await loadInto(this.table, { ...this.opts }, (dirs) => {
      for (const [root, listing] of [
        [this.roots[0]!, dirs.nodes],
        [this.roots[1]!, dirs.jobs],
        ...(this.roots[2] && dirs.resources ? [[this.roots[2], dirs.resources] as const] : []),
      ] as const) {
        root.present = listing.rootOk;
        if (!this.closed) this.dirs.sync(root.dir, listing.dirs);
      }
    });
    this.current = this.table.snapshot();
    // A stat pass costs roughly a fifth of a full load: pace the first rescan by that estimate, so
    // a large tree is not stat-walked again seconds after it was read.
    this.scheduleRescan((performance.now() - began) / 5);
    return this.current;
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.work.then(task, task);
    this.work = run.catch(() => undefined);
    return run;
  }

  /** The first event of a burst starts the clock: a file rewritten non-stop cannot starve the flush. */
  private markDirty(path: string): void {
    if (this.closed) return;
    this.dirty.add(path);
    if (this.debounceTimer) return;
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      this.serial(() => this.flush()).catch((err) => this.defect(err));
    }, this.opts.debounceMs);
  }

  /** Looks again at every dirty path, then publishes the result. */
  private async flush(): Promise<void> {
    if (this.closed || this.dirty.size === 0) return;
    const paths = [...this.dirty].sort();
    this.dirty.clear();
    for (const path of paths) await this.revisit(path);
    this.publish();
  }

  private async revisit(path: string): Promise<void> {
    const root = this.rootOf(path);
    if (!root) return;
    if (path === root.dir || !root.present) return this.revisitRoot(root);
    const stat = statOrUndefined(path);
    // A dangling or looping symlink fails stat but exists: reading it reports why.
    if (!stat && !lstatOrUndefined(path)) return this.forgetTree(root, path);
    if (stat?.isDirectory()) return this.rescanSubtree(root, path);
    if (isConfigFileName(basename(path)) && !this.underSkippedDir(root, path))
      readOne(this.table, root.kind, path, this.stamps);
  }

  /** The root directory changed: gone (keep what was loaded, report it), or back (rescan). */
  private async revisitRoot(root: Root): Promise<void> {
    const stat = statOrUndefined(root.dir);
    if (stat?.isDirectory()) await this.rescanRoot(root, !root.present);
    else this.markRootMissing(root);
  }

  private markRootMissing(root: Root): void {
    root.present = false;
    this.dirs.dropTree(root.dir);
    // Most installations have no resources.d: its absence is no problem (loaded pools stay).
    if (root.kind === 'resource') return void this.table.dirProblems.set(root.what, []);
    const message = `${root.what} directory "${root.dir}" is missing; the last loaded ${root.what} stay active until it is back`;
    this.table.dirProblems.set(root.what, [dirProblem(root.dir, message)]);
  }

  private async rescanSubtree(root: Root, dir: string): Promise<void> {
    if (this.underSkippedDir(root, dir) || isSkippedDirName(basename(dir))) return;
    const listing = scanConfigDir(dir, root.what);
    this.dirs.sync(dir, listing.dirs);
    const prefix = dir + sep;
    const found = new Set(listing.files);
    for (const file of this.filesOf(root))
      if (file.startsWith(prefix) && !found.has(file)) this.forgetFile(root, file);
    await readAll(this.table, root.kind, listing.files, this.stamps);
  }

  /** A full pass over one root: new and vanished files, and (unless `force`) only files whose stat changed. */
  private async rescanRoot(root: Root, force: boolean): Promise<void> {
    const listing = scanConfigDir(root.dir, root.what);
    if (!listing.rootOk) return this.markRootMissing(root);
    root.present = true;
    this.table.dirProblems.set(root.what, listing.problems);
    this.dirs.sync(root.dir, listing.dirs);
    const found = new Set(listing.files);
    for (const file of this.filesOf(root)) if (!found.has(file)) this.forgetFile(root, file);
    const toRead = force ? listing.files : await this.changedFiles(listing.files);
    await readAll(this.table, root.kind, toRead, this.stamps);
  }

  private async changedFiles(files: readonly string[]): Promise<string[]> {
    const changed: string[] = [];
    for (let i = 0; i < files.length; i++) {
      if (i > 0 && i % STAT_BATCH === 0) await new Promise((r) => setImmediate(r));
      const file = files[i]!;
      const stat = statOrUndefined(file);
      const stamp = stat ? stampOf(stat) : undefined;
      const known = this.stamps.get(file);
      if (known ? !sameStamp(stamp, known) : !this.adoptStamp(file, stamp)) changed.push(file);
    }
    return changed;
  }

  /** A file read at start-up (without a stamp) and loaded cleanly takes its stamp now, unread. */
  private adoptStamp(file: string, stamp: FileStamp | undefined): boolean {
    const entry =
      this.table.jobFiles.get(file) ?? this.table.nodeFiles.get(file) ?? this.table.resourceFiles.get(file);
    if (!stamp || !entry || entry.problems.length > 0) return false;
    this.stamps.set(file, stamp);
    return true;
  }

  private forgetTree(root: Root, path: string): void {
    this.dirs.dropTree(path);
    const prefix = path + sep;
    for (const file of this.filesOf(root))
      if (file === path || file.startsWith(prefix)) this.forgetFile(root, file);
  }

  private forgetFile(root: Root, file: string): void {
    this.table.remove(root.kind, file);
    this.stamps.delete(file);
  }

  private filesOf(root: Root): string[] {
    return this.table.filesOf(root.kind).keys();
  }

  private rootOf(path: string): Root | undefined {
    // The longest matching root wins, so nodes.d may sit inside jobs.d or the other way round.
    const matches = this.roots.filter((r) => path === r.dir || path.startsWith(r.dir + sep));
    return matches.sort((a, b) => b.dir.length - a.dir.length)[0];
  }

  private underSkippedDir(root: Root, path: string): boolean {
    const rest = path
      .slice(root.dir.length + 1)
      .split(sep)
      .slice(0, -1);
    return rest.some((part) => isSkippedDirName(part));
  }

  private publish(): ConfigChangeEvent | undefined {
    const before = this.current;
    const { snapshot: after, diff } = this.table.publish();
    this.current = after;
    if (isEmptyDiff(diff) && sameProblems(before.problems, after.problems)) return undefined;
    const event = { snapshot: after, diff };
    try {
      this.emit('change', event);
    } catch (err) {
      // A failing listener must not stop the watcher, but its failure must be heard.
      this.defect(err);
    }
    return event;
  }

  private defect(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.opts.onError?.(new Error(`config: watcher: ${message}; the watcher keeps running`));
  }

  private scheduleRescan(lastCostMs: number): void {
    if (this.closed) return;
    const interval = Math.min(
      MAX_RESCAN_INTERVAL_MS,
      Math.max(this.opts.rescanIntervalMs, lastCostMs * RESCAN_COST_FACTOR),
    );
    this.rescanTimer = setTimeout(() => {
      this.serial(() => this.safetyRescan()).catch((err) => this.defect(err));
    }, interval);
    this.rescanTimer.unref();
  }

  private async safetyRescan(): Promise<void> {
    if (this.closed) return;
    const began = performance.now();
    try {
      for (const root of this.roots) await this.rescanRoot(root, false);
      this.publish();
    } finally {
      this.scheduleRescan(performance.now() - began);
    }
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
