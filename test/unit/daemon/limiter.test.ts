import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { Limiter } from '../../../src/daemon/limiter.js';

describe('limiter: tryAcquire', () => {
  it('takes free slots without waiting and refuses once all are held', () => {
    const limiter = new Limiter(2);
    expect([limiter.tryAcquire(), limiter.tryAcquire(), limiter.tryAcquire()]).to.deep.equal([
      true,
      true,
      false,
    ]);
    expect(limiter.inUse).to.equal(2);
  });

  it('hands a slot taken by tryAcquire to the next waiter on release, not to a later tryAcquire', async () => {
    const limiter = new Limiter(1);
    expect(limiter.tryAcquire()).to.equal(true);
    const waiting = limiter.acquire();
    expect(limiter.waiting).to.equal(1);
    limiter.release();
    expect(await waiting).to.equal(true);
    expect(limiter.tryAcquire()).to.equal(false);
  });
});

describe('limiter: aborted waits', () => {
  it('removes an aborted waiter: it is not counted and never handed a slot', async () => {
    const limiter = new Limiter(1);
    expect(limiter.tryAcquire()).to.equal(true);
    const controller = new AbortController();
    const aborted = limiter.acquire(controller.signal);
    const next = limiter.acquire();
    expect(limiter.waiting).to.equal(2);
    controller.abort();
    expect(await aborted).to.equal(false);
    expect(limiter.waiting).to.equal(1);
    limiter.release();
    expect(await next).to.equal(true);
    expect(limiter.inUse).to.equal(1);
  });

  it('stops listening on the signal once a wait is granted', async () => {
    const limiter = new Limiter(1);
    const shared = new AbortController().signal;
    expect(limiter.tryAcquire()).to.equal(true);
    const waits = [limiter.acquire(shared), limiter.acquire(shared)];
    expect(getEventListeners(shared, 'abort')).to.have.length(2);
    limiter.release();
    limiter.release();
    expect(await Promise.all(waits)).to.deep.equal([true, true]);
    expect(getEventListeners(shared, 'abort')).to.have.length(0);
  });
});
