/**
 * One non-recursive fs.watch (inotify) per directory. Node 20's recursive fs.watch on Linux
 * is a JavaScript emulation that stats every file it sees; a watch per directory costs one
 * inotify watch and nothing per file. Events carry only a path to look at again. I/O.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, join } from 'node:path';

export class DirWatchers {
  private readonly watchers = new Map<string, FSWatcher>();

  /** `onPath`: an entry of a watched directory (or the directory itself) needs a fresh look. */
  constructor(private readonly onPath: (path: string) => void) {}

  /** Starts watching `dir` if not yet watched; false when it cannot be watched (gone already). */
  add(dir: string): boolean {
    if (this.watchers.has(dir)) return true;
    try {
      const watcher = watch(dir, { persistent: false }, (_event, name) => this.onEvent(dir, name));
      watcher.on('error', () => this.drop(dir, true));
      this.watchers.set(dir, watcher);
      return true;
    } catch {
      return false;
    }
  }

  private onEvent(dir: string, name: string | Buffer | null): void {
    if (!name) return this.onPath(dir);
    this.onPath(join(dir, String(name)));
    // inotify reports the deletion of the watched directory itself under its own base name.
    if (String(name) === basename(dir)) this.onPath(dir);
  }

  has(dir: string): boolean {
    return this.watchers.has(dir);
  }

  /** Stops watching `dir` and every directory below it. */
  dropTree(dir: string): void {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    for (const watched of [...this.watchers.keys()])
      if (watched === dir || watched.startsWith(prefix)) this.drop(watched);
  }

  /** Keeps exactly the directories in `dirs` (under `root`) watched. */
  sync(root: string, dirs: readonly string[]): void {
    const wanted = new Set(dirs);
    const prefix = root.endsWith('/') ? root : `${root}/`;
    for (const watched of [...this.watchers.keys()])
      if ((watched === root || watched.startsWith(prefix)) && !wanted.has(watched)) this.drop(watched);
    for (const dir of dirs) this.add(dir);
  }

  private drop(dir: string, notify = false): void {
    const watcher = this.watchers.get(dir);
    this.watchers.delete(dir);
    try {
      watcher?.close();
    } catch {
      // already closed by the kernel side (directory deleted)
    }
    // A watch that failed: the directory itself may be gone or replaced; have it looked at now.
    if (notify) this.onPath(dir);
  }

  closeAll(): void {
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  get size(): number {
    return this.watchers.size;
  }
}
