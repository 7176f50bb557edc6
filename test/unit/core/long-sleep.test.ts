import { expect } from 'chai';
import { MAX_TIMER_MS, sleepInChunks, type TimerApi } from '../../../src/core/clock.js';
import { MAX_DURATION_MS } from '../../../src/core/duration.js';
import { parseJobText } from '../../../src/config/index.js';
import { resolveDaemonOptions } from '../../../src/cli/daemon-flags.js';

/** Timers on a hand-moved clock: `fire()` jumps to the earliest timer and runs it. */
class FakeTimers implements TimerApi {
  current = Date.parse('2026-11-26T09:00:00.000Z');
  maxChunkMs = MAX_TIMER_MS;
  readonly armed: number[] = [];
  private timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;

  now(): number {
    return this.current;
  }
  setTimer(fn: () => void, ms: number): unknown {
    expect(ms, 'no timer longer than setTimeout can hold').to.be.at.most(MAX_TIMER_MS);
    this.armed.push(ms);
    const id = this.nextId++;
    this.timers.set(id, { at: this.current + ms, fn });
    return id;
  }
  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  fire(): boolean {
    const next = [...this.timers.entries()].sort((a, b) => a[1].at - b[1].at)[0];
    if (!next) return false;
    this.timers.delete(next[0]);
    this.current = Math.max(this.current, next[1].at);
    next[1].fn();
    return true;
  }
}

const DAY = 86_400_000;

describe('long waits (past the 24.8-day setTimeout limit)', () => {
  it('sleeps 30 days in capped chunks and ends exactly on the deadline', async () => {
    const timers = new FakeTimers();
    const start = timers.now();
    let done = false;
    const sleeping = sleepInChunks(30 * DAY, undefined, timers).then(() => (done = true));
    await Promise.resolve();
    expect(timers.armed[0]).to.equal(MAX_TIMER_MS);
    timers.fire();
    await Promise.resolve();
    expect(done, 'not done after the first chunk (24.8 days)').to.equal(false);
    while (timers.fire()) await Promise.resolve();
    await sleeping;
    expect(timers.now() - start).to.equal(30 * DAY);
    expect(timers.armed).to.deep.equal([MAX_TIMER_MS, 30 * DAY - MAX_TIMER_MS]);
  });

  it('re-reads the clock after each chunk (a clock that jumped ends the wait sooner)', async () => {
    const timers = new FakeTimers();
    const sleeping = sleepInChunks(60 * DAY, undefined, timers);
    timers.fire();
    timers.current += 40 * DAY; // e.g. the host slept
    timers.fire();
    await sleeping;
    expect(timers.armed).to.have.length(2);
  });

  it('a short wait is one timer, and an abort ends a long wait at once', async () => {
    const timers = new FakeTimers();
    const short = sleepInChunks(1000, undefined, timers);
    timers.fire();
    await short;
    const controller = new AbortController();
    const long = sleepInChunks(100 * DAY, controller.signal, timers);
    controller.abort();
    await long;
    expect(timers.armed).to.deep.equal([1000, MAX_TIMER_MS]);
  });

  it('documents a maximum for every duration field and refuses more with a clear error', () => {
    expect(MAX_DURATION_MS).to.equal(8760 * 3_600_000);
    const job = (extra: object) =>
      parseJobText(
        'jobs.d/long.json',
        JSON.stringify({ policy: { hosts: ['h'] }, command: ['true'], ...extra }),
        {
          defaultTimezone: 'UTC',
        },
      );
    expect(job({ timeout: '720h' }).job!.timeoutMs).to.equal(720 * 3_600_000);
    expect(job({ timeout: '8761h' }).problems[0]!.message).to.match(/"timeout" must be at most 8760h/);
    expect(job({ retries: { count: 1, delay: '169h' } }).problems[0]!.message).to.match(/at most 168h/);
    expect(job({ schedule: '@every 9000h' }).problems[0]!.message).to.match(/at most 8760h/);
    expect(job({ notify: { remind_every: '9000h' } }).problems[0]!.message).to.match(/at most 8760h/);
    expect(() => resolveDaemonOptions({ defaultTimeout: '9000h' }, {})).to.throw(
      /--default-timeout .*longer than the maximum 8760h/,
    );
    expect(() => resolveDaemonOptions({ retention: '99999d' }, {})).to.throw(/maximum 36500d/);
  });
});
