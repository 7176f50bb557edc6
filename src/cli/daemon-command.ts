import { startDaemon, type Daemon } from '../daemon/daemon.js';
import type { DaemonOptions } from '../daemon/options.js';

/**
 * `distcron daemon`: SIGTERM/SIGINT stop scheduling, let runs finish up to --shutdown-grace,
 * cancel the rest (recorded) and exit 0; a second signal exits at once. SIGHUP reloads config.
 * Handlers are installed before start-up, so a signal during start-up still shuts down cleanly.
 */
export async function runDaemon(options: Partial<DaemonOptions>): Promise<number> {
  let daemon: Daemon | null = null;
  let stopRequested: string | null = null;
  let resolveStop: (signal: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => (resolveStop = resolve));
  const onStop = (signal: string) => {
    if (stopRequested) {
      process.stderr.write(`distcron: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopRequested = signal;
    resolveStop(signal);
  };
  process.on('SIGTERM', () => onStop('SIGTERM'));
  process.on('SIGINT', () => onStop('SIGINT'));
  process.on('SIGHUP', () => void daemon?.reload());
  try {
    daemon = await startDaemon(options);
  } catch (err) {
    process.stderr.write(`distcron: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  await stopped;
  await daemon.close();
  return 0;
}
