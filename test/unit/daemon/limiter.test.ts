import { expect } from 'chai';
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
