import { expect } from 'chai';
import { backoffDelay } from '../../../src/report/backoff.js';

describe('backoffDelay', () => {
  it('doubles the step with each consecutive failure', () => {
    const top = () => 0.999999;
    expect([1, 2, 3, 4].map((f) => backoffDelay(f, 100, 60_000, top))).to.deep.equal([100, 200, 400, 800]);
  });

  it('never exceeds the maximum however many failures', () => {
    expect(backoffDelay(200, 100, 5000, () => 0.999999)).to.equal(5000);
  });

  it('jitters between half the step and the full step', () => {
    expect(backoffDelay(3, 100, 60_000, () => 0)).to.equal(200);
    expect(backoffDelay(3, 100, 60_000, () => 0.5)).to.equal(300);
  });
});
