/** loadConfig: both directories read and parsed into one snapshot. Never throws over bad files. I/O. */
import { dirname, join, resolve, sep } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { readAhead } from './read-ahead.js';
import { readConfigFileSync, type FileStamp } from './read-file.js';
import { scanConfigDir, type DirListing } from './scan.js';
import { ConfigTable, type ConfigSnapshot, type Kind } from './table.js';

export interface LoadOptions {
  jobsDir: string;
  nodesDir: string;
  /** resources.d (SPEC §16); optional: a missing directory means no pools, not a problem. */
  resourcesDir?: string;
  /** IANA zone for schedules that name none (daemon --timezone). */
  defaultTimezone: string;
}

/** Files read between two yields to the event loop: keeps timers responsive during a big load. */
const BATCH = 512;
/** From this many files on, a helper thread reads while this one parses (start-up at scale). */
const READ_AHEAD_MIN = 2048;

/** Without `resourcesDir`, pools are read from `resources.d` beside the jobs directory (the daemon's default). */
export async function loadConfig(opts: LoadOptions): Promise<ConfigSnapshot> {
  const withPools = {
    ...opts,
    resourcesDir: opts.resourcesDir ?? join(dirname(resolve(opts.jobsDir)), 'resources.d'),
  };
  const table = new ConfigTable(opts.defaultTimezone, absolutePaths(withPools));
  await loadInto(table, withPools);
  return table.snapshot();
}

/** File path as found → absolute path; path.resolve per file is measurable at 100k files. */
export function absolutePaths(opts: {
  jobsDir: string;
  nodesDir: string;
  resourcesDir?: string;
}): (file: string) => string {
  const dirs = [opts.jobsDir, opts.nodesDir, ...(opts.resourcesDir ? [opts.resourcesDir] : [])];
  const roots = dirs.map((dir) => [dir + sep, resolve(dir) + sep] as const);
  return (file) => {
    for (const [given, absolute] of roots)
      if (file.startsWith(given)) return absolute + file.slice(given.length);
    return resolve(file);
  };
}

/** Both roots scanned; what the watcher needs to follow up. */
export interface ScannedDirs {
  jobs: DirListing;
  nodes: DirListing;
  resources?: DirListing;
}

/**
 * Scans both roots, calls `beforeRead` (the watcher attaches its watches there, so no change
 * made during a long load goes unseen), then reads every file found.
 */
export async function loadInto(
  table: ConfigTable,
  opts: LoadOptions,
  beforeRead: (dirs: ScannedDirs) => void = () => undefined,
): Promise<ScannedDirs> {
  const dirs = { jobs: scanConfigDir(opts.jobsDir, 'jobs'), nodes: scanConfigDir(opts.nodesDir, 'nodes') };
  table.dirProblems.set('jobs', dirs.jobs.problems);
  table.dirProblems.set('nodes', dirs.nodes.problems);
  const withPools = { ...dirs, resources: scanResourcesDir(table, opts.resourcesDir) };
  beforeRead(withPools);
  await readAll(table, 'resource', withPools.resources?.files ?? []);
  await readAll(table, 'node', dirs.nodes.files);
  await readFresh(table, 'job', dirs.jobs.files);
  return withPools;
}

/** A resources directory that does not exist is no problem: most installations have no pools. */
function scanResourcesDir(table: ConfigTable, dir: string | undefined): DirListing | undefined {
  if (dir === undefined) return undefined;
  const listing = scanConfigDir(dir, 'resources');
  table.dirProblems.set('resources', listing.rootOk ? listing.problems : []);
  return listing;
}

/** Reads files not known yet (no stamps kept): many of them on a helper thread, see read-ahead.ts. */
export async function readFresh(
  table: ConfigTable,
  kind: Kind,
  files: readonly string[],
  readAheadMin = READ_AHEAD_MIN,
): Promise<void> {
  if (files.length < readAheadMin) return readAll(table, kind, files);
  await readAhead(files, (batch) => {
    for (let i = 0; i < batch.count; i++) {
      const file = files[batch.start + i]!;
      const text = batch.text(i);
      if (text === undefined) readOne(table, kind, file);
      else table.update(kind, file, { ok: true, text, facts: batch.facts?.(i) });
    }
  });
}

/** Reads many files, yielding to the event loop now and then; with `stamps`, records each file's stat. */
export async function readAll(
  table: ConfigTable,
  kind: Kind,
  files: readonly string[],
  stamps?: Map<string, FileStamp>,
): Promise<void> {
  for (let i = 0; i < files.length; i++) {
    if (i > 0 && i % BATCH === 0) await yieldToLoop();
    readOne(table, kind, files[i]!, stamps);
  }
}

export function readOne(table: ConfigTable, kind: Kind, file: string, stamps?: Map<string, FileStamp>): void {
  const outcome = readConfigFileSync(file, stamps !== undefined);
  if (outcome.stamp) stamps?.set(file, outcome.stamp);
  else stamps?.delete(file);
  table.update(
    kind,
    file,
    outcome.ok ? { ok: true, text: outcome.text } : { ok: false, error: outcome.error },
  );
}
