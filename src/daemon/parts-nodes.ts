/** How runs reach nodes: executors, node health probing, the known_hosts watch, per-node load. */
import type { Metrics } from '../core/metrics.js';
import type { Executor } from '../exec/executor.js';
import type { AsyncStore } from '../store/async-store.js';
import type { Bell } from './bell.js';
import type { ConfigView } from './config-view.js';
import { createExecutors, tofuKnownHostsFileOf } from './executors.js';
import { isHostKeyError, watchKnownHosts } from './known-hosts-watch.js';
import { NodeHealthTracker } from './node-health.js';
import { NodeLoadBook } from './node-load.js';
import type { Base } from './parts.js';

/** Executors, node health and per-node load: how runs reach nodes. */
export interface Nodes {
  executor: Executor;
  health: NodeHealthTracker;
  load: NodeLoadBook;
}

/** Executors (or a test's scripted one), node health probing and the known_hosts watch. */
export function startNodeHealth(
  base: Base,
  deps: { store: AsyncStore; config: ConfigView; bell: Bell; executor?: Executor },
): Nodes {
  const { options, clock, logger, metrics, cleanup } = base;
  const wake = () => deps.bell.ring();
  const executor =
    deps.executor ??
    createExecutors(options, { clock, logger, metrics, store: deps.store, config: deps.config, wake });
  cleanup.push('executors', () => executor.close());
  const health: NodeHealthTracker = new NodeHealthTracker({
    clock,
    logger,
    probe: (node) => executor.probe(node),
    lookup: (name) => deps.config.nodeMap().get(name),
    onChange: () => updateNodeGauges(metrics, health, deps.config),
    initialBackoffMs: options.nodeProbeInitialMs,
    maxBackoffMs: options.nodeProbeMaxMs,
  });
  cleanup.push('node health', () => health.close());
  const onKeysChanged = (file: string) => {
    const nodes = health.reprobeNow(isHostKeyError);
    if (nodes.length > 0)
      logger.info({ file, nodes }, 'known_hosts changed; probing nodes down for their host key');
  };
  cleanup.push(
    'known_hosts watch',
    watchKnownHosts([options.knownHostsFile, tofuKnownHostsFileOf(options)], onKeysChanged),
  );
  updateNodeGauges(metrics, health, deps.config);
  return { executor, health, load: new NodeLoadBook(metrics) };
}

export function updateNodeGauges(metrics: Metrics, health: NodeHealthTracker, config: ConfigView): void {
  const { down } = health.counts();
  metrics.nodesDown.set(down);
  metrics.nodesUp.set(config.nodeMap().size - down);
}
