import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ManualClock } from '../../../src/core/clock.js';
import { silentLogger } from '../../../src/core/log.js';
import { isoUtc, type JobDef, type ResourcePoolDef } from '../../../src/core/types.js';
import { ResourceBroker, type Acquisition } from '../../../src/daemon/resource-broker.js';
import { openSqliteAsyncStore, type SqliteAsyncStore } from '../../../src/store/sqlite-async.js';
import { fakeRun, REFERENCE_TIME } from '../../harness/runs.js';
import { settle } from '../../harness/daemon-env.js';

/** The broker on a real SQLite file with a manual clock: waits end on the clock, not on real time. */
describe('resource broker (real SQLite store, manual clock)', () => {
  let dir: string;
  let store: SqliteAsyncStore;
  let clock: ManualClock;
  let broker: ResourceBroker;
  const pools = new Map<string, ResourcePoolDef>([
    ['api', { name: 'api', file: 'resources.d/api.json', perMinute: 2 }],
    ['db', { name: 'db', file: 'resources.d/db.json', capacity: 1 }],
  ]);
  const job = (resources: Record<string, number>, extra: Partial<JobDef> = {}) =>
    ({
      name: 'j',
      resources: Object.entries(resources).map(([pool, amount]) => ({ pool, perNode: false, amount })),
      ...extra,
    }) as JobDef;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'distcron-broker-'));
    clock = new ManualClock(REFERENCE_TIME);
    store = openSqliteAsyncStore({ path: join(dir, 'db.sqlite'), clock });
    broker = new ResourceBroker({ store, clock, logger: silentLogger(), pools: () => pools, pollMs: 60_000 });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function acquire(def: JobDef, signal = new AbortController().signal): Promise<Acquisition> {
    const run = fakeRun({ status: 'running', scheduled_at: isoUtc(clock.now()) });
    await store.insertRun(run);
    return broker.acquire({ job: def, run, node: 'n1', signal });
  }

  /** Resolves whether `promise` settled after the pending store work ran. */
  async function settled(promise: Promise<unknown>): Promise<boolean> {
    let done = false;
    void promise.then(() => (done = true));
    for (let i = 0; i < 5; i++) await settle();
    return done;
  }

  it('a rate-limited waiter sleeps until the window frees, then takes its unit', async () => {
    expect((await acquire(job({ api: 1 }))).ok).to.equal(true);
    clock.advance(10_000);
    expect((await acquire(job({ api: 1 }))).ok).to.equal(true);
    const third = acquire(job({ api: 1 }));
    expect(await settled(third), 'waits: 2 per minute already taken').to.equal(false);
    clock.set(REFERENCE_TIME + 59_999);
    expect(await settled(third)).to.equal(false);
    clock.set(REFERENCE_TIME + 60_000);
    expect((await third).ok).to.equal(true);
  });

  it('a waiter wakes when a holder of this process releases, without waiting for the poll', async () => {
    const first = await acquire(job({ db: 1 }));
    const second = acquire(job({ db: 1 }));
    expect(await settled(second)).to.equal(false);
    if (first.ok) await first.release();
    expect((await second).ok).to.equal(true);
  });

  it('gives up at "resource_wait", naming the pool, and leaves nothing queued', async () => {
    await acquire(job({ db: 1 }));
    const late = acquire(job({ db: 1 }, { resourceWaitMs: 5_000 }));
    expect(await settled(late)).to.equal(false);
    clock.advance(5_000);
    expect(await late).to.deep.equal({
      ok: false,
      status: 'skipped',
      error: 'waited 5s for resource pool "db" (capacity 1, all held); "resource_wait" ran out',
    });
    expect((await store.readResources(clock.now())).waiters).to.deep.equal([]);
  });

  it('a cancelled waiter is given up at once, without taking the pool that came free', async () => {
    const first = await acquire(job({ db: 1 }));
    const cancel = new AbortController();
    const waiting = acquire(job({ db: 1 }), cancel.signal);
    expect(await settled(waiting)).to.equal(false);
    cancel.abort('cancelled via API');
    if (first.ok) await first.release();
    expect(await waiting).to.deep.include({ ok: false, status: 'cancelled', error: 'cancelled via API' });
    expect((await store.readResources(clock.now())).holdings).to.deep.equal([]);
  });
});
