import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Writes `text` to `target` through a temp file and a rename: a reader sees the old file or the new one. */
export async function writeAtomically(target: string, text: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  // A dotfile ending in .tmp: the watcher ignores it, so only the rename is seen. The random
  // part keeps two writers (two daemons' APIs, or a retry racing the first try) apart.
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomUUID()}.tmp`);
  try {
    await writeFile(temp, text, { mode: 0o644 });
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
