import type { Logger } from '../core/log.js';
import type { ConfigProblem, NodeDef } from '../core/types.js';
import {
  ConfigWatcher,
  crossCheck,
  isValidJobName,
  validateJobBody,
  type ConfigSnapshot,
} from '../config/index.js';
import type { ConfigState } from './config-view.js';
import { resourcesDirOf, type DaemonOptions } from './options.js';

/** The daemon's window on jobs.d / nodes.d: the current snapshot, change events, reloads. */
export interface ConfigSource {
  current(): ConfigState;
  onChange(listener: (state: ConfigState) => void): void;
  /** SIGHUP: every file re-read. */
  reloadAll(): Promise<void>;
  /** Pick up files this process just wrote or removed (API PUT/DELETE) without waiting for the watcher. */
  refresh(files: string[]): Promise<void>;
  validateJobBody(
    name: string,
    body: unknown,
    nodes: ReadonlyMap<string, NodeDef>,
  ): { problems: ConfigProblem[]; text: string };
  isValidJobName(name: string): boolean;
  close(): void;
}

/** Watches both directories; an invalid change keeps the last good version and is reported. */
export async function openConfigSource(options: DaemonOptions, logger: Logger): Promise<ConfigSource> {
  const listeners: ((s: ConfigState) => void)[] = [];
  let reported: ConfigProblem[] = [];
  const report = (snapshot: ConfigSnapshot) => {
    const known = new Set(reported.map(problemKey));
    for (const p of snapshot.problems.filter((q) => !known.has(problemKey(q)))) logProblem(logger, p);
    reported = snapshot.problems;
  };
  const watcher = new ConfigWatcher({
    jobsDir: options.jobsDir,
    nodesDir: options.nodesDir,
    resourcesDir: resourcesDirOf(options),
    defaultTimezone: options.timezone,
    debounceMs: options.reloadDebounceMs,
    onChange: ({ snapshot }) => {
      report(snapshot);
      for (const listener of listeners) {
        try {
          listener(snapshot);
        } catch (err) {
          logger.error({ err }, 'config: applying a change failed unexpectedly');
        }
      }
    },
    onError: (err) => logger.error({ err }, err.message),
  });
  report(await watcher.start());
  return {
    current: () => watcher.snapshot,
    onChange: (listener) => listeners.push(listener),
    reloadAll: async () => void (await watcher.reloadAll()),
    refresh: async (files) => void (await watcher.refresh(files)),
    validateJobBody: (name, body, nodes) => {
      const file = `${options.jobsDir}/${name}.json`;
      const result = validateJobBody(name, body, { defaultTimezone: options.timezone, file });
      const cross = result.job
        ? crossCheck(new Map([[name, result.job]]), nodes, watcher.snapshot.resources)
        : [];
      return { problems: [...result.problems, ...cross], text: result.text };
    },
    isValidJobName: (name) => isValidJobName(name),
    close: () => watcher.close(),
  };
}

function problemKey(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.column}:${p.message}`;
}

function logProblem(logger: Logger, p: ConfigProblem): void {
  const where = { file: p.file, line: p.line, column: p.column, path: p.path };
  if (p.severity === 'error') logger.error(where, `config: ${p.message}`);
  else logger.warn(where, `config: ${p.message}`);
}
