import { startDaemon, type Daemon } from '../daemon/daemon.js';
import type { DaemonOptions } from '../daemon/options.js';

/**
 * `distcron daemon`: SIGTERM/SIGINT stop scheduling, let runs finish up to --shutdown-grace,
 * cancel the rest (recorded) and exit 0; a second signal exits at once. SIGHUP reloads config.
 */
export async function runDaemon(options: Partial<DaemonOptions>): Promise<number> {
  let daemon: Daemon;
  try {
    daemon = await startDaemon(options);
  } catch (err) {
    process.stderr.write(`distcron: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        process.stderr.write(`distcron: ${signal} again, exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      void daemon.close().then(() => resolve(0));
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => void daemon.reload());
  });
}
