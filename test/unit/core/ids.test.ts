import { expect } from 'chai';
import { newId } from '../../../src/core/ids.js';

describe('run ids', () => {
  it('sort in creation order, also within one millisecond', () => {
    const ids = Array.from({ length: 1000 }, () => newId(1_700_000_000_000));
    expect([...ids].sort()).to.deep.equal(ids);
    expect(new Set(ids).size).to.equal(1000);
  });

  it('are 26 Crockford base32 characters that start with the time', () => {
    const a = newId(1_700_000_000_000);
    const b = newId(1_800_000_000_000);
    expect(a).to.match(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(a < b).to.equal(true);
  });
});
