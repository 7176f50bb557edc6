import fc from 'fast-check';
import { expect } from 'chai';
import { smallestNames } from '../../../src/api/jobs-list.js';
import { testJob } from './test-control.js';

describe('api jobs list page selection', () => {
  it('selects the same names as filtering, sorting and slicing every job', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z0-9._-]{1,8}$/), { maxLength: 300 }),
        fc.integer({ min: 1, max: 50 }),
        fc.string({ maxLength: 2 }),
        (names, k, needle) => {
          const defs = names.map((n) => testJob(n));
          const keep = (d: { name: string }) => d.name.includes(needle);
          const expected = names
            .filter((n) => n.includes(needle))
            .sort()
            .slice(0, k);
          expect(smallestNames(defs, keep, k)).to.deep.equal(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
