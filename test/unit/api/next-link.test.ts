import fc from 'fast-check';
import { expect } from 'chai';
import { formEncode, nextLink } from '../../../src/api/routes.js';

/** What the Link header was built with before: URLSearchParams, the reference encoding. */
function referenceLink(path: string, query: Record<string, string>, cursor: string): string {
  return `<${path}?${new URLSearchParams({ ...query, cursor }).toString()}>; rel="next"`;
}

describe('api: next-page Link header', () => {
  it('encodes names and values exactly as URLSearchParams does, whatever the text', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: fc.constantFrom(...' !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~aZ09é✓\u{1F600}\uD800') }),
    );
    fc.assert(
      fc.property(fc.dictionary(text, text, { maxKeys: 4 }), text, (query, cursor) => {
        expect(nextLink('/api/v1/runs', query, cursor)).to.equal(
          referenceLink('/api/v1/runs', query, cursor),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps plain text as it is and writes a space as "+"', () => {
    expect(formEncode('job-00042_a.b*')).to.equal('job-00042_a.b*');
    expect(formEncode("a b!'()~")).to.equal('a+b%21%27%28%29%7E');
    expect(nextLink('/api/v1/jobs', { q: 'x y', limit: '50' }, 'am9i')).to.equal(
      '</api/v1/jobs?q=x+y&limit=50&cursor=am9i>; rel="next"',
    );
  });
});
