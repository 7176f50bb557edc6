/**
 * Watches the known_hosts files: when one changes (e.g. `distcron keyscan` recorded a new key),
 * nodes that are down because of their host key are probed at once instead of after their
 * backoff (up to --node-probe-max later).
 */
import { unwatchFile, watchFile, type Stats } from 'node:fs';

/** How often the files' stat is compared; polling works on every filesystem and for new files. */
const POLL_MS = 1000;

/** True for the refusals HostKeyChecker reports (unknown, changed, revoked host key). */
export function isHostKeyError(message: string): boolean {
  return /host key|known_hosts/i.test(message);
}

export function watchKnownHosts(
  files: readonly (string | undefined)[],
  onChange: (file: string) => void,
): () => void {
  const watched = [...new Set(files.filter((f): f is string => f !== undefined))];
  const listeners = watched.map((file) => {
    const listener = (now: Stats, before: Stats) => {
      if (now.mtimeMs !== before.mtimeMs || now.size !== before.size || now.ino !== before.ino)
        onChange(file);
    };
    watchFile(file, { interval: POLL_MS, persistent: false }, listener);
    return { file, listener };
  });
  let closed = false;
  return () => {
    if (closed) return;
    closed = true;
    for (const { file, listener } of listeners) unwatchFile(file, listener);
  };
}
