/**
 * The configuration's parts: the source read from disk (or the database), the job table loaded
 * from it with its persisted state, and the applier that follows later changes.
 */
import { configNameOf } from '../config/names.js';
import type { AsyncStore } from '../store/async-store.js';
import { ConfigApplier } from './config-apply.js';
import { openConfigSource, type ConfigSource } from './config-source.js';
import { ConfigView } from './config-view.js';
import { JobTable } from './job-table.js';
import type { Base } from './parts.js';
import { updateNodeGauges, type Nodes } from './parts-nodes.js';
import type { Scheduler } from './scheduler.js';

export interface Config {
  view: ConfigView;
  source: ConfigSource;
}

export async function openConfig(base: Base): Promise<Config> {
  const source = await openConfigSource(base.options, base.logger);
  base.cleanup.push('config watcher', () => source.close());
  return { view: new ConfigView(base.options.timezone, base.logger), source };
}

/** The job table with the config's jobs loaded and their persisted state read back. */
export async function loadJobs(base: Base, config: Config, store: AsyncStore): Promise<JobTable> {
  // Read once: the enable overrides and the schedule baselines come from the same snapshot.
  const states = await store.listJobStates();
  const jobs = new JobTable(store, base.clock, states);
  const prepared = config.view.prepare(config.source.current(), jobs);
  await jobs.applyConfig(prepared, new Map(states.map((s) => [s.job, s])));
  config.view.commit(prepared);
  // A job not in the config now was deleted: its state must not date a later job of that name.
  await jobs.forgetAbsent(states, new Set([...config.view.filesWithErrors()].map(configNameOf)));
  base.metrics.configErrors.set(config.view.filesWithErrors().size);
  return jobs;
}

/**
 * Config changes from now on: applied to the job table, scheduler and view; nodes follow.
 * Returns how to wait until what the source has read so far is applied (read-your-writes).
 */
export function wireConfig(
  base: Base,
  deps: { config: Config; jobs: JobTable; scheduler: Scheduler; nodes: Nodes },
): () => Promise<void> {
  const { logger, metrics } = base;
  const { view, source } = deps.config;
  const applier = new ConfigApplier({
    config: view,
    jobs: deps.jobs,
    scheduler: deps.scheduler,
    logger,
    onApplied: (diff) => {
      for (const name of diff.nodesRemoved) deps.nodes.health.forget(name);
      updateNodeGauges(metrics, deps.nodes.health, view);
      metrics.configErrors.set(view.filesWithErrors().size);
      if (diff.upserted.length + diff.removed.length > 0)
        logger.info({ changed: diff.upserted.length, removed: diff.removed.length }, 'config applied');
    },
  });
  base.cleanup.push('config applier', () => applier.close());
  source.onChange((state) => {
    void applier.apply(state).then(() => metrics.configErrors.set(view.filesWithErrors().size));
  });
  return () => applier.idle();
}
