import { expect } from 'chai';
import { collectNodes, collectPairs, distinctNodes, parsePairs } from '../../../src/cli/run-flags.js';

describe('distcron run flags', () => {
  it('collects --node a --node b and --node a,b into one list', () => {
    expect(collectNodes('b', collectNodes('a'))).to.deep.equal(['a', 'b']);
    expect(collectNodes('a,b')).to.deep.equal(['a', 'b']);
    expect(distinctNodes(collectNodes('a', collectNodes('a,b')))).to.deep.equal(['a', 'b']);
    expect(distinctNodes(undefined)).to.equal(undefined);
    expect(() => collectNodes('a,,b')).to.throw(/--node expects node names/);
  });

  it('reads repeated --param K=V, keeping "=" and "," inside values', () => {
    const pairs = collectPairs('NOTE=a=b,c', collectPairs('COUNT=1'));
    expect(parsePairs('--param', pairs)).to.deep.equal({ COUNT: '1', NOTE: 'a=b,c' });
    expect(parsePairs('--param', ['EMPTY='])).to.deep.equal({ EMPTY: '' });
    expect(parsePairs('--param', [])).to.equal(undefined);
  });

  it('refuses a pair without a name and a name given twice', () => {
    expect(() => parsePairs('--param', ['=x'])).to.throw(/--param expects NAME=VALUE/);
    expect(() => parsePairs('--param', ['NOVALUE'])).to.throw(/--param expects NAME=VALUE/);
    expect(() => parsePairs('--param', ['A=1', 'A=2'])).to.throw(/A is given twice/);
  });
});
