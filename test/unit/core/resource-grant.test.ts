import { expect } from 'chai';
import { decideGrant, rateFreeAt, type PoolLimits, type PoolUse } from '../../../src/core/resource-grant.js';

const T0 = Date.parse('2026-11-26T09:00:00.000Z');
const POOLS: Record<string, PoolLimits> = {
  db: { capacity: 2 },
  api: { perMinute: 5 },
  both: { capacity: 1, perMinute: 2 },
  io: { capacity: 1 },
};
const limits = (pool: string) => POOLS[pool.split('@')[0]!];
const idle = (): PoolUse => ({ held: new Map(), acquisitions: [], waiters: [] });

describe('resource pools: who may take what, when (pure, fixed times)', () => {
  it('grants what fits every pool at once', () => {
    const use = { ...idle(), held: new Map([['db', 1]]) };
    expect(
      decideGrant(
        'r1',
        [
          { pool: 'db', amount: 1 },
          { pool: 'io', amount: 1 },
        ],
        limits,
        use,
        T0,
      ),
    ).to.deep.equal({
      kind: 'grant',
    });
  });

  it('grants nothing while any one pool is full: all or nothing', () => {
    const use = { ...idle(), held: new Map([['io', 1]]) };
    const decision = decideGrant(
      'r1',
      [
        { pool: 'db', amount: 1 },
        { pool: 'io', amount: 1 },
      ],
      limits,
      use,
      T0,
    );
    expect(decision).to.deep.equal({ kind: 'wait', pool: 'io', why: 'capacity' });
  });

  it('counts amounts, not holders, against the capacity', () => {
    const use = { ...idle(), held: new Map([['db', 1]]) };
    expect(decideGrant('r1', [{ pool: 'db', amount: 2 }], limits, use, T0).kind).to.equal('wait');
  });

  it('names a pool that is not declared', () => {
    expect(decideGrant('r1', [{ pool: 'nope', amount: 1 }], limits, idle(), T0)).to.deep.equal({
      kind: 'unknown',
      pool: 'nope',
    });
  });

  it('serves waiters in order: a later waiter on the same pool waits even when it would fit', () => {
    const use: PoolUse = {
      ...idle(),
      waiters: [
        { runId: 'big', wants: [{ pool: 'db', amount: 2 }] },
        { runId: 'small', wants: [{ pool: 'db', amount: 1 }] },
      ],
      held: new Map([['db', 1]]),
    };
    expect(decideGrant('small', [{ pool: 'db', amount: 1 }], limits, use, T0)).to.deep.equal({
      kind: 'wait',
      pool: 'db',
      why: 'queue',
    });
    expect(decideGrant('big', [{ pool: 'db', amount: 2 }], limits, use, T0).kind).to.equal('wait');
  });

  it('does not hold back a waiter whose pools no earlier waiter wants', () => {
    const use: PoolUse = {
      ...idle(),
      held: new Map([['io', 1]]),
      waiters: [
        { runId: 'first', wants: [{ pool: 'io', amount: 1 }] },
        { runId: 'other', wants: [{ pool: 'db', amount: 1 }] },
      ],
    };
    expect(decideGrant('other', [{ pool: 'db', amount: 1 }], limits, use, T0)).to.deep.equal({
      kind: 'grant',
    });
  });

  it('keeps per-host pools of one declaration apart', () => {
    const use = { ...idle(), held: new Map([['io@db1', 1]]) };
    expect(decideGrant('r1', [{ pool: 'io@db2', amount: 1 }], limits, use, T0).kind).to.equal('grant');
    expect(decideGrant('r1', [{ pool: 'io@db1', amount: 1 }], limits, use, T0).kind).to.equal('wait');
  });

  it('allows at most per_minute units in any rolling 60 s, and says when the next one fits', () => {
    const acquisitions = [0, 5, 10, 15, 20].map((s) => ({ pool: 'api', at: T0 + s * 1000, amount: 1 }));
    const use = { ...idle(), acquisitions };
    expect(decideGrant('r1', [{ pool: 'api', amount: 1 }], limits, use, T0 + 30_000)).to.deep.equal({
      kind: 'wait',
      pool: 'api',
      why: 'rate',
      retryAt: T0 + 60_000,
    });
    expect(decideGrant('r1', [{ pool: 'api', amount: 1 }], limits, use, T0 + 59_999).kind).to.equal('wait');
    expect(decideGrant('r1', [{ pool: 'api', amount: 1 }], limits, use, T0 + 60_000).kind).to.equal('grant');
  });

  it('waits for as many old acquisitions to leave the window as the request needs', () => {
    const acquisitions = [0, 5, 10, 15, 20].map((s) => ({ pool: 'api', at: T0 + s * 1000, amount: 1 }));
    expect(rateFreeAt({ pool: 'api', amount: 3 }, 5, acquisitions, T0 + 30_000)).to.equal(T0 + 70_000);
    expect(rateFreeAt({ pool: 'api', amount: 1 }, 5, acquisitions, T0 + 80_000)).to.equal(undefined);
  });

  it('checks both limits of a pool that has both', () => {
    const acquisitions = [
      { pool: 'both', at: T0, amount: 1 },
      { pool: 'both', at: T0 + 1000, amount: 1 },
    ];
    const decision = decideGrant(
      'r1',
      [{ pool: 'both', amount: 1 }],
      limits,
      { ...idle(), acquisitions },
      T0 + 2000,
    );
    expect(decision).to.deep.include({ kind: 'wait', why: 'rate', retryAt: T0 + 60_000 });
  });

  it('never lets more than per_minute start in any 60 s window over an hour of steady demand', () => {
    const acquisitions: PoolUse['acquisitions'][number][] = [];
    for (let now = T0; now < T0 + 3_600_000; now += 700) {
      const use = { ...idle(), acquisitions };
      if (decideGrant('r', [{ pool: 'api', amount: 1 }], limits, use, now).kind === 'grant')
        acquisitions.push({ pool: 'api', at: now, amount: 1 });
    }
    const times = acquisitions.map((a) => a.at);
    for (const start of times)
      expect(times.filter((t) => t >= start && t < start + 60_000).length).to.be.at.most(5);
    expect(times.length, 'the limit is reached, not only respected').to.be.at.least(5 * 59);
  });
});
