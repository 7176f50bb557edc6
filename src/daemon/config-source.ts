import type { Logger } from '../core/log.js';
import type { ConfigProblem, NodeDef } from '../core/types.js';
import { crossCheck } from '../config/cross-check.js';
import { validateJobBody } from '../config/body.js';
import { loadConfig } from '../config/load.js';
import { isValidJobName } from '../config/names.js';
import type { ConfigState } from './job-registry.js';
import type { DaemonOptions } from './options.js';

/** The daemon's window on jobs.d / nodes.d: the current snapshot, change events, reloads. */
export interface ConfigSource {
  current(): ConfigState;
  onChange(listener: (state: ConfigState) => void): void;
  reloadAll(): Promise<void>;
  validateJobBody(
    name: string,
    body: unknown,
    nodes: ReadonlyMap<string, NodeDef>,
  ): { problems: ConfigProblem[]; text: string };
  isValidJobName(name: string): boolean;
  close(): void;
}

export async function openConfigSource(options: DaemonOptions, logger: Logger): Promise<ConfigSource> {
  const load = () =>
    loadConfig({ jobsDir: options.jobsDir, nodesDir: options.nodesDir, defaultTimezone: options.timezone });
  let state: ConfigState = await load();
  const listeners: ((s: ConfigState) => void)[] = [];
  logProblems(logger, state.problems);
  return {
    current: () => state,
    onChange: (listener) => listeners.push(listener),
    reloadAll: async () => {
      state = await load();
      logProblems(logger, state.problems);
      for (const l of listeners) l(state);
    },
    validateJobBody: (name, body, nodes) => {
      const result = validateJobBody(name, body, {
        defaultTimezone: options.timezone,
        file: `${options.jobsDir}/${name}.json`,
      });
      const cross = result.job ? crossCheck(new Map([[name, result.job]]), nodes) : [];
      return { problems: [...result.problems, ...cross], text: result.text };
    },
    isValidJobName: (name) => isValidJobName(name),
    close: () => undefined,
  };
}

function logProblems(logger: Logger, problems: ConfigProblem[]): void {
  for (const p of problems) {
    logger[p.severity === 'error' ? 'error' : 'warn'](
      { file: p.file, line: p.line, column: p.column, path: p.path },
      p.message,
    );
  }
}
