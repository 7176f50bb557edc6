import { dirname, join } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { ExecutorRegistry, type Executor } from '../exec/executor.js';
import { LazyExecutor } from '../exec/lazy.js';
import { baseEnvironment } from '../exec/job-env.js';
import { LocalExecutor } from '../exec/local.js';
import type { SshExecutorInput } from '../exec/ssh/options.js';
import { hostKeyChangedEntry } from '../notify/outbox.js';
import type { AsyncStore } from '../store/async-store.js';
import { isPostgresUrl } from '../store/open.js';
import type { ConfigView } from './config-view.js';
import { DAEMON_DEFAULTS, type DaemonOptions } from './options.js';

export interface ExecutorDeps {
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  store: AsyncStore;
  config: ConfigView;
  /** Called after a notice was queued (wakes the notifier). */
  wake: () => void;
}

/** Local processes and SSH, routed by each node's connection type. */
export function createExecutors(options: DaemonOptions, deps: ExecutorDeps): Executor {
  const ssh = new LazyExecutor(async () => {
    const { SshExecutor } = await import('../exec/ssh/executor.js');
    return new SshExecutor(sshOptions(options, deps));
  }, deps.clock.now.bind(deps.clock));
  return new ExecutorRegistry({
    local: new LocalExecutor({
      clock: deps.clock,
      baseEnv: baseEnvironment(process.env, options.envPassthrough),
    }),
    ssh,
  });
}

/** Where tofu records first-seen keys: --tofu-known-hosts, else beside the database. */
export function tofuKnownHostsFileOf(options: DaemonOptions): string {
  if (options.tofuKnownHostsFile) return options.tofuKnownHostsFile;
  // Beside a SQLite file; with PostgreSQL, beside the default SQLite path (./data/known_hosts).
  const db = isPostgresUrl(options.dbPath) ? DAEMON_DEFAULTS.dbPath : options.dbPath;
  return join(dirname(db), 'known_hosts');
}

function sshOptions(options: DaemonOptions, deps: ExecutorDeps): SshExecutorInput {
  return {
    knownHostsFile: options.knownHostsFile,
    hostKeyPolicy: options.hostKeyPolicy,
    tofuKnownHostsFile: tofuKnownHostsFileOf(options),
    connectTimeoutMs: options.sshConnectTimeoutMs,
    idleTimeoutMs: options.sshIdleTimeoutMs,
    resolveNode: (name) => deps.config.nodeMap().get(name),
    onHostKeyChanged: (e) => {
      // A changed key is refused and always notified (to --admin-email), never silently accepted.
      deps.store
        .enqueueOutbox([hostKeyChangedEntry({ ...e, at: new Date(e.at).toISOString() })])
        .then(deps.wake, (err: unknown) =>
          deps.logger.error({ err, node: e.node }, 'could not queue the host-key-changed notice'),
        );
    },
    metrics: deps.metrics,
    logger: deps.logger,
    clock: deps.clock,
  };
}
