/**
 * Recursive listing of a config directory: which files are definitions, and which
 * directories must be watched. Symlinked directories are followed once (loops are reported,
 * not followed). Never throws. I/O.
 */
import { readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { join, sep } from 'node:path';
import type { ConfigProblem } from '../core/types.js';
import { isConfigFileName, isSkippedDirName } from './names.js';

export interface DirListing {
  /** Config file paths (directory as given + relative path), sorted. */
  files: string[];
  /** Every directory read, the root first. */
  dirs: string[];
  problems: ConfigProblem[];
  /** False when the root itself could not be read. */
  rootOk: boolean;
}

export function scanConfigDir(root: string, what: string): DirListing {
  const listing: DirListing = { files: [], dirs: [], problems: [], rootOk: true };
  const seen = new Set<string>();
  const rootReal = realpathOrUndefined(root);
  if (rootReal === undefined || !readable(root)) {
    listing.rootOk = false;
    listing.problems.push(
      dirProblem(
        root,
        `${what} directory "${root}" does not exist or is not a readable directory; create it or fix the path`,
      ),
    );
    return listing;
  }
  seen.add(rootReal);
  walk(root, listing, seen);
  listing.files.sort();
  return listing;
}

function walk(dir: string, listing: DirListing, seen: Set<string>): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // vanished or unreadable while scanning: the watcher's next pass sees the truth
  }
  listing.dirs.push(dir);
  // join() normalises each time (measurable at 100k files); below a normal directory path,
  // "dir/name" is exactly what it returns.
  const prefix = join(dir) === dir && dir !== '.' && !dir.endsWith(sep) ? dir + sep : undefined;
  for (const entry of entries) {
    const path = prefix === undefined ? join(dir, entry.name) : prefix + entry.name;
    if (entry.isDirectory()) {
      if (!isSkippedDirName(entry.name)) enterOnce(path, listing, seen);
    } else if (entry.isSymbolicLink()) {
      visitLink(path, entry.name, listing, seen);
    } else if (isConfigFileName(entry.name)) {
      listing.files.push(path); // FIFOs and sockets too: reading them reports a clear problem
    }
  }
}

function visitLink(path: string, name: string, listing: DirListing, seen: Set<string>): void {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    isDir = false; // dangling or looping link: if it looks like a config file, reading it reports why
  }
  if (isDir && !isSkippedDirName(name)) enterOnce(path, listing, seen);
  else if (!isDir && isConfigFileName(name)) listing.files.push(path);
}

function enterOnce(path: string, listing: DirListing, seen: Set<string>): void {
  const real = realpathOrUndefined(path);
  if (real === undefined) return;
  if (seen.has(real)) {
    listing.problems.push({
      ...dirProblem(
        path,
        `"${path}" leads to a directory that is already read (a symlink loop?); it is skipped`,
      ),
      severity: 'warning',
    });
    return;
  }
  seen.add(real);
  walk(path, listing, seen);
}

function realpathOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function readable(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function dirProblem(path: string, message: string): ConfigProblem {
  return { file: path, line: 1, column: 1, path: '$', message, severity: 'error' };
}
