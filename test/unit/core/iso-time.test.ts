import { expect } from 'chai';
import fc from 'fast-check';
import { isoUtc } from '../../../src/core/iso-time.js';

const YEAR_10000 = 253_402_300_800_000;

describe('core: isoUtc', () => {
  it('formats every instant of years 0000-9999 exactly as Date.toISOString', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: YEAR_10000 - 1 }), (ms) => {
        expect(isoUtc(ms)).to.equal(new Date(ms).toISOString());
      }),
      { numRuns: 20_000 },
    );
  });

  it('gets the edges of days, leap days, centuries and the fast range right', () => {
    const instants = [
      0,
      1,
      86_399_999,
      Date.UTC(2000, 1, 29, 23, 59, 59, 999),
      Date.UTC(2100, 2, 1),
      Date.UTC(2026, 10, 26, 9, 0, 0, 5),
      Date.UTC(999, 11, 31, 12),
      YEAR_10000 - 1,
    ];
    for (const ms of instants) expect(isoUtc(ms), String(ms)).to.equal(new Date(ms).toISOString());
  });

  it('falls back to Date outside the fast range, for negative and fractional times too', () => {
    for (const ms of [-1, -62_198_755_200_000, YEAR_10000, 1.5])
      expect(isoUtc(ms), String(ms)).to.equal(new Date(ms).toISOString());
    expect(() => isoUtc(NaN)).to.throw(RangeError);
  });
});
