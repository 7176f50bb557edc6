import { expect } from 'chai';
import { Bell } from '../../../src/daemon/bell.js';

describe('Bell', () => {
  it('a ring reaches every listener registered so far, and none before any registers', () => {
    const bell = new Bell();
    bell.ring();
    const heard: string[] = [];
    bell.listen(() => heard.push('first'));
    bell.listen(() => heard.push('second'));
    bell.ring();
    expect(heard).to.deep.equal(['first', 'second']);
  });
});
