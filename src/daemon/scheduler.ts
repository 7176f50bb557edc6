import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { JobDef, Millis } from '../core/types.js';
import { DUE_KEEP, dueInstants, planFires, type FirePlan } from './catch-up.js';
import { MinHeap } from './heap.js';
import type { JobTable, ScheduledJob } from './job-table.js';

export interface SchedulerOptions {
  clock: Clock;
  logger: Logger;
  /** A fire more than this late is a catch-up (SPEC §5 `--grace`). */
  graceMs: number;
  /** Longest single wait; the clock is re-read on every wake (clock jumps, suspend). */
  maxWaitMs: number;
  /** Owner of each job's definition, schedule and last instant; the scheduler only times them. */
  jobs: Pick<JobTable, 'jobs' | 'scheduled' | 'isEnabled' | 'fired' | 'passOver'>;
  /**
   * Claims the plans of every job due at one tick in one transaction and starts what it claimed;
   * must advance each job's persisted last scheduled instant to its `latest`. Rejects, having
   * claimed nothing, when the store fails.
   */
  execute: (fires: readonly DueFire[]) => Promise<void>;
  /** Counts a claim the store refused (a metric); `err` tells why (NotLeaderError: leadership lost). */
  onClaimError?: (job: string, err: unknown) => void;
  /** Backoff of claim retries after a store error: first wait, doubled up to `claimRetryMaxMs`. */
  claimRetryFirstMs?: number;
  claimRetryMaxMs?: number;
}

/** One job's part of a tick: what to claim, and the instant its last scheduled instant moves to. */
export interface DueFire {
  job: JobDef;
  plan: FirePlan;
  latest: Millis;
}

export const SCHEDULER_DEFAULTS = { claimRetryFirstMs: 500, claimRetryMaxMs: 30_000 } as const;

/** When a job is next due; the job's schedule and last instant are the table's. */
interface Entry {
  name: string;
  /** The first instant after `base`, the time it was computed from (max of last and the clock then). */
  next: Millis | null;
  base: Millis;
  /** Claims the store refused in a row (backoff). */
  failures: number;
}

/** How many due jobs to claim in one transaction, at most (a burst of 100k fires). */
const BATCH = 500;

/**
 * Wakes only for the next due job (a min-heap of next instants), never scans all jobs per tick.
 * What is due is computed from the persisted last scheduled instant, so a restart, a clock jump
 * backwards or a suspended machine can neither lose a catch-up nor fire an instant twice. An
 * instant is advanced past only once its claim is stored. The jobs due at one tick are claimed
 * together, in one transaction, and each batch is awaited, so a job is never in two claims at
 * once. A job whose claim was refused is retried alone, so that one job the store refuses (a
 * defect) cannot hold back the others.
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

  /**
   * The table changed these jobs (config applied, or all of them at start-up): each is timed
   * afresh from its last instant, and one no longer loaded is dropped.
   */
  reschedule(names: Iterable<string>): void {
    let earliest = Infinity;
    for (const name of names) {
      const job = this.options.jobs.scheduled(name);
      if (!job) {
        this.entries.delete(name);
        continue;
      }
      const entry: Entry = { name, next: job.schedule.nextAfter(job.last), base: job.last, failures: 0 };
      this.entries.set(name, entry);
      if (entry.next === null) continue;
      this.heap.push(entry.next, entry);
      earliest = Math.min(earliest, entry.next);
    }
    if (this.wake && earliest <= (this.heap.peek()?.at ?? Infinity)) this.wake.abort();
  }

  /** Times every job the table has loaded (start-up). */
  scheduleAll(): void {
    this.reschedule(this.options.jobs.jobs().map((j) => j.name));
  }

  /** The next `n` fire instants of a job after now (or after its last instant, if later). */
  nextFireTimes(name: string, n: number): Millis[] {
    const entry = this.entries.get(name);
    const job = this.options.jobs.scheduled(name);
    if (!entry || !job) return [];
    const out: Millis[] = [];
    const from = Math.max(job.last, this.options.clock.now());
    // Nothing fires between base and next, so next is also the first instant after `from`.
    let t =
      entry.next !== null && from >= entry.base && from < entry.next
        ? entry.next
        : job.schedule.nextAfter(from);
    while (t !== null && out.length < n) {
      out.push(t);
      if (out.length < n) t = job.schedule.nextAfter(t);
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
    for (;;) {
      const now = this.options.clock.now();
      const due = this.takeDue(now);
      if (due.length === 0) return;
      const retrying = due.filter((e) => e.failures > 0);
      await this.claimTogether(
        due.filter((e) => e.failures === 0),
        now,
      );
      for (const entry of retrying) await this.claimTogether([entry], now);
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Pops up to BATCH entries due at `now`, each once (entries replaced since they were pushed are dropped). */
  private takeDue(now: Millis): Entry[] {
    const due = new Set<Entry>();
    for (let top = this.heap.peek(); top && top.at <= now && !this.stopped; top = this.heap.peek()) {
      if (due.size >= BATCH) break;
      this.heap.pop();
      if (this.entries.get(top.key.name) === top.key) due.add(top.key);
    }
    return [...due];
  }

  /**
   * The due fires of `entries` in one claim. A disabled job's due instants are passed over
   * instead; a job with nothing due is timed again at once.
   */
  private async claimTogether(entries: Entry[], now: Millis): Promise<void> {
    const fires: { entry: Entry; job: ScheduledJob; fire: DueFire }[] = [];
    const passing: Promise<void>[] = [];
    for (const entry of entries) {
      const job = this.options.jobs.scheduled(entry.name);
      // Not reachable while the config applier reschedules every job it changes; kept safe anyway.
      if (!job) this.entries.delete(entry.name);
      else {
        const fire = this.dueFire(job, now);
        if (!fire) this.timeNext(entry, job, now);
        else if (this.options.jobs.isEnabled(job.job)) fires.push({ entry, job, fire });
        else passing.push(this.passOver(entry, job, fire.latest, now));
      }
    }
    await Promise.all([this.claim(fires, now), ...passing]);
  }

  private async claim(fires: { entry: Entry; job: ScheduledJob; fire: DueFire }[], now: Millis) {
    if (fires.length === 0) return;
    try {
      await this.options.execute(fires.map((f) => f.fire));
    } catch (err) {
      for (const { entry } of fires) this.retryLater(entry, now, err);
      return;
    }
    for (const { entry, job, fire } of fires) {
      this.options.jobs.fired(job.job.name, fire.latest);
      this.done(entry, job, now);
    }
  }

  /** A disabled job's due instants: no catch-up of them when it is enabled again. */
  private async passOver(entry: Entry, job: ScheduledJob, latest: Millis, now: Millis): Promise<void> {
    try {
      await this.options.jobs.passOver(job.job.name, latest);
    } catch (err) {
      return this.retryLater(entry, now, err);
    }
    this.done(entry, job, now);
  }

  private done(entry: Entry, job: ScheduledJob, now: Millis): void {
    this.claimed(entry);
    // Replaced or dropped while its claim was stored (config change): the new entry times it.
    if (this.entries.get(entry.name) === entry) this.timeNext(entry, job, now);
  }

  /** What `job` has to claim at `now` (the plan of its due instants); null when nothing is due. */
  private dueFire(job: ScheduledJob, now: Millis): DueFire | null {
    const due = dueInstants(job.schedule, job.last, now, DUE_KEEP);
    const latest = due.recent[due.recent.length - 1];
    if (latest === undefined) return null;
    const { graceMs } = this.options;
    const plan = planFires(due, { policy: job.job.catchUp, now, graceMs, upSince: this.upSince });
    return { job: job.job, plan, latest };
  }

  /** The next instant after the due ones (all at or before `now`) or after the last, if later. */
  private timeNext(entry: Entry, job: ScheduledJob, now: Millis): void {
    entry.base = Math.max(job.last, now);
    entry.next = job.schedule.nextAfter(entry.base);
    if (entry.next !== null) this.heap.push(entry.next, entry);
  }

  /** The instant stays unclaimed (`last` is not advanced): the same due instants are tried again. */
  private retryLater(entry: Entry, now: Millis, err: unknown): void {
    if (this.entries.get(entry.name) !== entry) return;
    const delay = Math.min(this.retryFirstMs * 2 ** entry.failures, this.retryMaxMs);
    entry.failures++;
    this.options.onClaimError?.(entry.name, err);
    if (this.stopped) return;
    if (this.failureStreak++ === 0) {
      this.options.logger.error(
        { err, job: entry.name, retryInMs: delay },
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
