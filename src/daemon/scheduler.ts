import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { JobDef, Millis } from '../core/types.js';
import { scheduleKey } from '../schedule/key.js';
import type { Schedule } from '../schedule/schedule.js';
import type { BaselineWrite, JobState } from '../store/store.js';
import { DUE_KEEP, dueInstants, planFires, type FirePlan } from './catch-up.js';
import { MinHeap } from './heap.js';

/** What the store keeps of a job's schedule between restarts. */
export type ScheduleBaseline = Pick<JobState, 'lastScheduledAt' | 'scheduleKey'>;

export interface SchedulerOptions {
  clock: Clock;
  logger: Logger;
  /** A fire more than this late is a catch-up (SPEC §5 `--grace`). */
  graceMs: number;
  /** Longest single wait; the clock is re-read on every wake (clock jumps, suspend). */
  maxWaitMs: number;
  /** Persisted baseline of a job (null: none). */
  baseline: (job: string) => ScheduleBaseline | null;
  setBaselines: (items: BaselineWrite[]) => void;
  /** The job left the config: its baseline belonged to that definition only. */
  forgetBaseline: (job: string) => void;
  isEnabled: (job: JobDef) => boolean;
  /**
   * Claims a plan in one transaction and starts what it claimed; must advance the persisted last
   * scheduled instant to `latest`. Throws, having claimed nothing, when the store fails.
   */
  execute: (job: JobDef, plan: FirePlan, latest: Millis) => void;
  /** A disabled job's due instants are passed over (no catch-up when it is enabled again). */
  passOver: (job: JobDef, latest: Millis) => void;
  /** Counts a claim the store refused (a metric). */
  onClaimError?: (job: string) => void;
  /** Backoff of claim retries after a store error: first wait, doubled up to `claimRetryMaxMs`. */
  claimRetryFirstMs?: number;
  claimRetryMaxMs?: number;
}

export const SCHEDULER_DEFAULTS = { claimRetryFirstMs: 500, claimRetryMaxMs: 30_000 } as const;

interface Entry {
  job: JobDef;
  schedule: Schedule;
  key: string;
  last: Millis;
  /** The first instant after `base`, the time it was computed from (max of last and the clock then). */
  next: Millis | null;
  base: Millis;
  /** Claims the store refused in a row (backoff). */
  failures: number;
}

/** How many due jobs to handle before yielding to the event loop (a burst of 100k fires). */
const BATCH = 500;

/**
 * Wakes only for the next due job (a min-heap of next instants), never scans all jobs per tick.
 * What is due is computed from the persisted last scheduled instant, so a restart, a clock jump
 * backwards or a suspended machine can neither lose a catch-up nor fire an instant twice. An
 * instant is advanced past only once its claim is stored.
 */
export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  /** Keyed by the entry itself: an entry replaced or removed since it was pushed is skipped. */
  private readonly heap = new MinHeap<Entry>();
  private wake: AbortController | null = null;
  private stopped = true;
  private loopDone: Promise<void> = Promise.resolve();
  /** Instants at or before this came while the daemon was down (set when scheduling starts). */
  private upSince: Millis;
  /** Claims refused in a row, across jobs: one log line per streak. */
  private failureStreak = 0;
  private readonly retryFirstMs: number;
  private readonly retryMaxMs: number;

  constructor(private readonly options: SchedulerOptions) {
    this.upSince = options.clock.now();
    this.retryFirstMs = options.claimRetryFirstMs ?? SCHEDULER_DEFAULTS.claimRetryFirstMs;
    this.retryMaxMs = options.claimRetryMaxMs ?? SCHEDULER_DEFAULTS.claimRetryMaxMs;
  }

  /** Adds or replaces a job (hot reload). */
  setJob(job: JobDef, schedule: Schedule): void {
    this.setJobs([{ job, schedule }]);
  }

  /**
   * Adds or replaces many jobs at once (start-up, reload): `known` holds persisted baselines read
   * in one query. A job whose schedule is new or changed — or whose stored baseline was counted
   * under another schedule — starts counting from now: there is nothing of it to catch up.
   */
  setJobs(items: { job: JobDef; schedule: Schedule }[], known?: ReadonlyMap<string, ScheduleBaseline>): void {
    const now = this.options.clock.now();
    const writes: BaselineWrite[] = [];
    const entries: Entry[] = [];
    // Store reads and writes first, then the in-memory change: a store error leaves the
    // scheduler exactly as it was, so the caller can keep the previous config and retry.
    for (const { job, schedule } of items) {
      const key = scheduleKey(job.schedule);
      const last = this.baselineOf(job.name, key, now, writes, known);
      entries.push({ job, schedule, key, last, next: schedule.nextAfter(last), base: last, failures: 0 });
    }
    if (writes.length > 0) this.options.setBaselines(writes);
    let earliest = Infinity;
    for (const entry of entries) {
      this.entries.set(entry.job.name, entry);
      if (entry.next === null) continue;
      this.heap.push(entry.next, entry);
      earliest = Math.min(earliest, entry.next);
    }
    if (this.wake && earliest <= (this.heap.peek()?.at ?? Infinity)) this.wake.abort();
  }

  private baselineOf(
    name: string,
    key: string,
    now: Millis,
    writes: BaselineWrite[],
    known: ReadonlyMap<string, ScheduleBaseline> | undefined,
  ): Millis {
    const existing = this.entries.get(name);
    if (existing) {
      if (existing.key === key) return existing.last;
    } else {
      const stored = known ? (known.get(name) ?? null) : this.options.baseline(name);
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

  removeJob(name: string): void {
    if (!this.entries.delete(name)) return;
    this.options.forgetBaseline(name);
  }

  /**
   * At start-up: a stored job without a definition now was deleted while the daemon was down.
   * `unloadable` names jobs whose file exists but fails to load: once fixed they catch up.
   */
  forgetAbsent(
    stored: readonly (ScheduleBaseline & { job: string })[],
    unloadable: ReadonlySet<string>,
  ): void {
    for (const state of stored) {
      if (this.entries.has(state.job) || unloadable.has(state.job) || state.lastScheduledAt === null)
        continue;
      this.options.forgetBaseline(state.job);
    }
  }

  hasJob(name: string): boolean {
    return this.entries.has(name);
  }

  /** The definition the scheduler fires for `name` (the registry must hold the same one). */
  jobOf(name: string): JobDef | undefined {
    return this.entries.get(name)?.job;
  }

  /** The next `n` fire instants of a job after now (or after its last instant, if later). */
  nextFireTimes(name: string, n: number): Millis[] {
    const entry = this.entries.get(name);
    if (!entry) return [];
    const out: Millis[] = [];
    const from = Math.max(entry.last, this.options.clock.now());
    // Nothing fires between base and next, so next is also the first instant after `from`.
    let t =
      entry.next !== null && from >= entry.base && from < entry.next
        ? entry.next
        : entry.schedule.nextAfter(from);
    while (t !== null && out.length < n) {
      out.push(t);
      if (out.length < n) t = entry.schedule.nextAfter(t);
    }
    return out;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.upSince = this.options.clock.now();
    this.loopDone = this.loop();
  }

  /** Stops scheduling (first rung of the shutdown ladder); resolves when the loop has exited. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.abort();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await this.fireDue();
      if (this.stopped) break;
      const top = this.heap.peek();
      const wait = top
        ? Math.min(Math.max(0, top.at - this.options.clock.now()), this.options.maxWaitMs)
        : this.options.maxWaitMs;
      this.wake = new AbortController();
      await this.options.clock.sleep(wait, this.wake.signal);
      this.wake = null;
    }
  }

  private async fireDue(): Promise<void> {
    let handled = 0;
    for (;;) {
      const now = this.options.clock.now();
      const top = this.heap.peek();
      if (!top || top.at > now || this.stopped) return;
      this.heap.pop();
      const entry = top.key;
      if (this.entries.get(entry.job.name) !== entry) continue;
      this.handle(entry, now);
      if (++handled % BATCH === 0) await new Promise((r) => setImmediate(r));
    }
  }

  private handle(entry: Entry, now: Millis): void {
    const due = dueInstants(entry.schedule, entry.last, now, DUE_KEEP);
    const latest = due.recent[due.recent.length - 1];
    if (latest !== undefined) {
      try {
        this.dispatch(entry, due, latest, now);
      } catch (err) {
        return this.retryLater(entry, now, err);
      }
      this.claimed(entry);
      entry.last = latest;
    }
    entry.base = Math.max(entry.last, now);
    entry.next = entry.schedule.nextAfter(entry.base);
    if (entry.next !== null) this.heap.push(entry.next, entry);
  }

  private dispatch(entry: Entry, due: ReturnType<typeof dueInstants>, latest: Millis, now: Millis): void {
    if (!this.options.isEnabled(entry.job)) return this.options.passOver(entry.job, latest);
    const { graceMs } = this.options;
    const plan = planFires(due, { policy: entry.job.catchUp, now, graceMs, upSince: this.upSince });
    this.options.execute(entry.job, plan, latest);
  }

  /** The instant stays unclaimed (`last` is not advanced): the same due instants are tried again. */
  private retryLater(entry: Entry, now: Millis, err: unknown): void {
    const delay = Math.min(this.retryFirstMs * 2 ** entry.failures, this.retryMaxMs);
    entry.failures++;
    this.options.onClaimError?.(entry.job.name);
    if (this.failureStreak++ === 0) {
      this.options.logger.error(
        { err, job: entry.job.name, retryInMs: delay },
        'could not claim a fire; retrying with backoff until the store takes it (logged once until a claim succeeds)',
      );
    }
    // Not a fire instant: nextFireTimes computes from the schedule while a retry is pending.
    entry.next = null;
    this.heap.push(now + delay, entry);
  }

  private claimed(entry: Entry): void {
    entry.failures = 0;
    if (this.failureStreak === 0) return;
    this.options.logger.info({ refused: this.failureStreak }, 'claims are stored again');
    this.failureStreak = 0;
  }
}
