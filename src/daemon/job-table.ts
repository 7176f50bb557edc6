import type { Clock } from '../core/clock.js';
import type { JobDef, Millis, RunRecord } from '../core/types.js';
import { scheduleKey } from '../schedule/key.js';
import type { Schedule } from '../schedule/schedule.js';
import type { StoreOps } from '../store/async-store.js';
import type { BaselineWrite, JobState } from '../store/store.js';

/** The part of the store the table writes through: it persists what must outlive a restart. */
export type JobTableStore = Pick<
  StoreOps,
  'getJobState' | 'getRun' | 'setBaselines' | 'setLastScheduled' | 'setEnabledOverride' | 'forgetBaseline'
>;

/** What the store keeps of a job's schedule between restarts. */
export type ScheduleBaseline = Pick<JobState, 'lastScheduledAt' | 'scheduleKey'>;

/** A loaded job as the scheduler times it. Replaced, never mutated, when any field changes. */
export interface ScheduledJob {
  readonly job: JobDef;
  readonly schedule: Schedule;
  /** The schedule `last` is counted under (see scheduleKey). */
  readonly key: string;
  /** The last scheduled instant claimed: fired, skipped, missed or passed over while disabled. */
  readonly last: Millis;
}

/** A config change to make current: new or changed jobs (compiled) and removed job names. */
export interface JobChange {
  readonly upserted: readonly { job: JobDef; schedule: Schedule }[];
  readonly removed: readonly string[];
}

/** Everything the daemon knows of one job at run time. */
interface JobRecord {
  /** Null while the job is not in the config (deleted, or its file does not load yet). */
  loaded: ScheduledJob | null;
  /** API enable/disable; null follows the file's `enabled`. Outlives the job's definition. */
  override: boolean | null;
  /** Without output; undefined until first asked for (then read from the store once). */
  lastRun: RunRecord | null | undefined;
  /** Executions in flight, and how many wait behind them (overlap `queue`). */
  running: number;
  queued: number;
}

/**
 * The one owner of each job's runtime state: definition, compiled schedule, last scheduled
 * instant, enable override, executions in flight and last outcome. It changes only through the
 * commands below (apply config, fire, pass over, enable, start/end an execution, finish a run);
 * the scheduler, runner and API read it through the queries. What must survive a restart is
 * written to the store first, so a store error leaves the table as it was and the caller retries.
 * Those writes go one at a time, in call order (a queue): the memory changes in the order the
 * store took the writes, even when two awaits of the store would complete the other way round.
 */
export class JobTable {
  /** Every job known; the loaded ones in the order they were loaded (the order the API lists). */
  private readonly records = new Map<string, JobRecord>();
  /** Frozen list of the loaded definitions; replaced (never mutated) when one changes. */
  private definitions: readonly JobDef[] | null = null;
  /** The persisting commands, one after another (see serial). */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: JobTableStore,
    private readonly clock: Clock,
    stored: readonly JobState[],
  ) {
    for (const state of stored)
      if (state.enabledOverride !== null) this.record(state.job).override = state.enabledOverride;
  }

  // Commands.

  /**
   * Makes a config change current, all of it or (on a store error) none. `known` holds the
   * persisted baselines read in one query at start-up; later changes read them per new job. A job
   * whose schedule is new or changed — or whose stored instant was counted under another
   * schedule — counts from now: there is nothing of it to catch up.
   */
  applyConfig(change: JobChange, known?: ReadonlyMap<string, ScheduleBaseline>): Promise<void> {
    return this.serial(async () => {
      const now = this.clock.now();
      const writes: BaselineWrite[] = [];
      const stored = known ?? (await this.storedBaselines(change));
      const loaded = change.upserted.map(({ job, schedule }): ScheduledJob => {
        const key = scheduleKey(job.schedule);
        return { job, schedule, key, last: this.baselineOf(job.name, key, now, writes, stored) };
      });
      const removed = change.removed.filter((name) => this.scheduled(name));
      if (writes.length > 0) await this.store.setBaselines(writes);
      // The baseline belonged to the removed definition only: a later job of that name starts afresh.
      for (const name of removed) await this.store.forgetBaseline(name);
      for (const job of loaded) this.load(job);
      for (const name of removed) this.record(name).loaded = null;
      if (loaded.length + removed.length > 0) this.definitions = null;
    });
  }

  /** The persisted baselines of the jobs of a change that are not loaded yet (read per job). */
  private async storedBaselines(change: JobChange): Promise<Map<string, ScheduleBaseline>> {
    const stored = new Map<string, ScheduleBaseline>();
    for (const { job } of change.upserted) {
      if (this.scheduled(job.name)) continue;
      const state = await this.store.getJobState(job.name);
      if (state) stored.set(job.name, state);
    }
    return stored;
  }

  /**
   * At start-up: a stored job without a definition now was deleted while the daemon was down.
   * `unloadable` names jobs whose file exists but fails to load: once fixed they catch up.
   */
  forgetAbsent(
    stored: readonly (ScheduleBaseline & { job: string })[],
    unloadable: ReadonlySet<string>,
  ): Promise<void> {
    return this.serial(async () => {
      for (const state of stored) {
        if (this.scheduled(state.job) || unloadable.has(state.job) || state.lastScheduledAt === null)
          continue;
        await this.store.forgetBaseline(state.job);
      }
    });
  }

  /**
   * Another member led meanwhile (SPEC §15) and advanced the stored instants: each loaded job
   * whose stored instant was counted under its current schedule and is later than the one in
   * memory takes it, so the new leader neither fires an instant again nor loses one.
   */
  adoptStoredBaselines(stored: readonly JobState[]): Promise<void> {
    return this.serial(() => {
      for (const state of stored) {
        const record = this.records.get(state.job);
        const loaded = record?.loaded;
        const at = state.lastScheduledAt;
        if (!record || !loaded || at === null || state.scheduleKey !== loaded.key || at <= loaded.last)
          continue;
        record.loaded = { ...loaded, last: at };
      }
      return Promise.resolve();
    });
  }

  /** The runner stored the claim of the job's instants up to `latest` (it advanced the stored instant). */
  fired(name: string, latest: Millis): void {
    this.advance(name, latest);
  }

  /** A disabled job's due instants are passed over: no catch-up of them when it is enabled again. */
  passOver(name: string, latest: Millis): Promise<void> {
    return this.serial(async () => {
      await this.store.setLastScheduled(name, latest);
      this.advance(name, latest);
    });
  }

  /** The API's enable/disable: persisted first, so an override the store refused never takes effect. */
  setEnabled(name: string, enabled: boolean): Promise<void> {
    return this.serial(async () => {
      await this.store.setEnabledOverride(name, enabled);
      this.record(name).override = enabled;
    });
  }

  /**
   * The enable overrides as stored (another member's API wrote them, SPEC §15): taken as they
   * are, nothing written; a job without a stored override has none.
   */
  adoptOverrides(stored: readonly JobState[]): Promise<void> {
    return this.serial(() => {
      const overrides = new Map(stored.map((s) => [s.job, s.enabledOverride]));
      for (const [name, record] of this.records) record.override = overrides.get(name) ?? null;
      for (const [name, override] of overrides) if (override !== null) this.record(name).override = override;
      return Promise.resolve();
    });
  }

  /**
   * Reads the last run of each named job not known yet (after a restart), so lastRun() can
   * answer without the store. A run finishing meanwhile wins over what the read found.
   */
  async loadLastRuns(names: readonly string[]): Promise<void> {
    const missing = names.filter((name) => this.records.get(name)?.lastRun === undefined);
    await Promise.all(
      missing.map(async (name) => {
        const id = (await this.store.getJobState(name))?.lastRunId;
        const run = id ? await this.store.getRun(id) : undefined;
        const record = this.record(name);
        if (record.lastRun === undefined) record.lastRun = run ? withoutOutput(run) : null;
      }),
    );
  }

  executionStarted(name: string): void {
    this.record(name).running++;
  }

  executionEnded(name: string): void {
    this.record(name).running--;
  }

  /** An execution waits for the running one to end (overlap `queue`). */
  queueEntered(name: string): void {
    this.record(name).queued++;
  }

  queueLeft(name: string): void {
    this.record(name).queued--;
  }

  /** Keeps each job's last outcome current (after the store has it) without a query per list. */
  runFinished(run: RunRecord): void {
    if (run.status === 'skipped') return;
    this.record(run.job).lastRun = withoutOutput(run);
  }

  // Queries.

  job(name: string): JobDef | undefined {
    return this.records.get(name)?.loaded?.job;
  }

  /** The same array until a job changes: lets the API reuse its sorted index of 100k jobs. */
  jobs(): readonly JobDef[] {
    this.definitions ??= Object.freeze(
      [...this.records.values()].flatMap((r) => (r.loaded ? [r.loaded.job] : [])),
    );
    return this.definitions;
  }

  scheduled(name: string): ScheduledJob | undefined {
    return this.records.get(name)?.loaded ?? undefined;
  }

  override(name: string): boolean | null {
    return this.records.get(name)?.override ?? null;
  }

  isEnabled(job: JobDef): boolean {
    return this.override(job.name) ?? job.enabled;
  }

  running(name: string): number {
    return this.records.get(name)?.running ?? 0;
  }

  isQueued(name: string): boolean {
    return (this.records.get(name)?.queued ?? 0) > 0;
  }

  /** Null until loadLastRuns() read it (or a run of the job finished since the start). */
  lastRun(name: string): RunRecord | null {
    return this.records.get(name)?.lastRun ?? null;
  }

  private baselineOf(
    name: string,
    key: string,
    now: Millis,
    writes: BaselineWrite[],
    known: ReadonlyMap<string, ScheduleBaseline>,
  ): Millis {
    const current = this.scheduled(name);
    if (current) {
      if (current.key === key) return current.last;
    } else {
      const stored = known.get(name) ?? null;
      const last = stored?.lastScheduledAt ?? null;
      if (last !== null && stored?.scheduleKey === key) return last;
      if (last !== null && stored?.scheduleKey === null) {
        writes.push({ job: name, key, at: null });
        return last;
      }
    }
    writes.push({ job: name, key, at: now });
    return now;
  }

  /** A job loaded anew goes to the end of the list; an edited one keeps its place. */
  private load(job: ScheduledJob): void {
    const record = this.record(job.job.name);
    if (!record.loaded) {
      this.records.delete(job.job.name);
      this.records.set(job.job.name, record);
    }
    record.loaded = job;
  }

  private advance(name: string, latest: Millis): void {
    const record = this.records.get(name);
    if (record?.loaded) record.loaded = { ...record.loaded, last: latest };
  }

  /** Runs `task` after every persisting command called before it has settled. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.writes.then(task, task);
    this.writes = run.catch(() => undefined);
    return run;
  }

  private record(name: string): JobRecord {
    let record = this.records.get(name);
    if (!record) {
      record = { loaded: null, override: null, lastRun: undefined, running: 0, queued: 0 };
      this.records.set(name, record);
    }
    return record;
  }
}

function withoutOutput(run: RunRecord): RunRecord {
  return { ...run, stdout: '', stderr: '' };
}
