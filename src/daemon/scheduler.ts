import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { JobDef, Millis } from '../core/types.js';
import type { Schedule } from '../schedule/schedule.js';
import { DUE_KEEP, dueInstants, planFires, type FirePlan } from './catch-up.js';
import { MinHeap } from './heap.js';

export interface SchedulerOptions {
  clock: Clock;
  logger: Logger;
  /** A fire more than this late is a catch-up (SPEC §5 `--grace`). */
  graceMs: number;
  /** Longest single wait; the clock is re-read on every wake (clock jumps, suspend). */
  maxWaitMs: number;
  /** Persisted last scheduled instant of a job (null: never scheduled). */
  lastScheduled: (job: string) => Millis | null;
  /** Jobs seen for the first time start counting from now (persisted, so downtime after it is caught up). */
  initLastScheduled: (jobs: string[], at: Millis) => void;
  isEnabled: (job: JobDef) => boolean;
  /** Carries out a plan; must advance the persisted last scheduled instant to `latest`. */
  execute: (job: JobDef, plan: FirePlan, latest: Millis) => void;
  /** A disabled job's due instants are passed over (no catch-up when it is enabled again). */
  passOver: (job: JobDef, latest: Millis) => void;
}

interface Entry {
  job: JobDef;
  schedule: Schedule;
  last: Millis;
  /** The first instant after `base`, the time it was computed from (max of last and the clock then). */
  next: Millis | null;
  base: Millis;
}

/** How many due jobs to handle before yielding to the event loop (a burst of 100k fires). */
const BATCH = 500;

/**
 * Wakes only for the next due job (a min-heap of next instants), never scans all jobs per tick.
 * What is due is computed from the persisted last scheduled instant, so a restart, a clock jump
 * backwards or a suspended machine can neither lose a catch-up nor fire an instant twice.
 */
export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  /** Keyed by the entry itself: an entry replaced or removed since it was pushed is skipped. */
  private readonly heap = new MinHeap<Entry>();
  private wake: AbortController | null = null;
  private stopped = true;
  private loopDone: Promise<void> = Promise.resolve();

  constructor(private readonly options: SchedulerOptions) {}

  /** Adds or replaces a job (hot reload). */
  setJob(job: JobDef, schedule: Schedule): void {
    this.setJobs([{ job, schedule }]);
  }

  /**
   * Adds or replaces many jobs at once (start-up, reload): `known` holds persisted last instants
   * read in one query; new jobs are initialised in one batch.
   */
  setJobs(items: { job: JobDef; schedule: Schedule }[], known?: ReadonlyMap<string, Millis | null>): void {
    const now = this.options.clock.now();
    const fresh: string[] = [];
    const entries: Entry[] = [];
    // Store reads and writes first, then the in-memory change: a store error leaves the
    // scheduler exactly as it was, so the caller can keep the previous config and retry.
    for (const { job, schedule } of items) {
      const persisted = known ? (known.get(job.name) ?? null) : this.options.lastScheduled(job.name);
      const existing = this.entries.get(job.name);
      const last = existing?.last ?? persisted ?? now;
      if (!existing && persisted === null) fresh.push(job.name);
      entries.push({ job, schedule, last, next: schedule.nextAfter(last), base: last });
    }
    if (fresh.length > 0) this.options.initLastScheduled(fresh, now);
    let earliest = Infinity;
    for (const entry of entries) {
      this.entries.set(entry.job.name, entry);
      if (entry.next === null) continue;
      this.heap.push(entry.next, entry);
      earliest = Math.min(earliest, entry.next);
    }
    if (this.wake && earliest <= (this.heap.peek()?.at ?? Infinity)) this.wake.abort();
  }

  removeJob(name: string): void {
    this.entries.delete(name);
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
        this.options.logger.error({ err, job: entry.job.name }, 'could not fire job');
      }
      entry.last = latest;
    }
    entry.base = Math.max(entry.last, now);
    entry.next = entry.schedule.nextAfter(entry.base);
    if (entry.next !== null) this.heap.push(entry.next, entry);
  }

  private dispatch(entry: Entry, due: ReturnType<typeof dueInstants>, latest: Millis, now: Millis): void {
    if (!this.options.isEnabled(entry.job)) return this.options.passOver(entry.job, latest);
    const plan = planFires(due, entry.job.catchUp, now, this.options.graceMs);
    this.options.execute(entry.job, plan, latest);
  }
}
