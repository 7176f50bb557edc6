import type { JobDef, RunRecord } from '../core/types.js';
import type { JobState, Store } from '../store/store.js';

/**
 * Per-job runtime state the scheduler and the control share: the API enable override and the
 * last finished run. It changes only through setEnabled and finish; the store stays the source
 * of truth (overrides are read once at start-up, the last run lazily on first query).
 */
export class JobBook {
  private readonly overrides = new Map<string, boolean>();
  private readonly lastRuns = new Map<string, RunRecord | null>();

  constructor(
    private readonly store: Store,
    initialStates: readonly JobState[],
  ) {
    for (const state of initialStates) {
      if (state.enabledOverride !== null) this.overrides.set(state.job, state.enabledOverride);
    }
  }

  /** Persists first: an override the store refused must not take effect in memory. */
  setEnabled(name: string, enabled: boolean): void {
    this.store.setEnabledOverride(name, enabled);
    this.overrides.set(name, enabled);
  }

  /** Keeps each job's last run current without a query per job on every list. */
  finish(run: RunRecord): void {
    if (run.status === 'skipped') return;
    this.lastRuns.set(run.job, { ...run, stdout: '', stderr: '' });
  }

  override(name: string): boolean | null {
    return this.overrides.get(name) ?? null;
  }

  isEnabled(job: JobDef): boolean {
    return this.overrides.get(job.name) ?? job.enabled;
  }

  lastRun(job: string): RunRecord | null {
    if (!this.lastRuns.has(job)) {
      const id = this.store.getJobState(job)?.lastRunId;
      const run = id ? this.store.getRun(id) : undefined;
      this.lastRuns.set(job, run ? { ...run, stdout: '', stderr: '' } : null);
    }
    return this.lastRuns.get(job) ?? null;
  }
}
