import { expect } from 'chai';
import fc from 'fast-check';
import { OutputCapture } from '../../../src/exec/output.js';

function capture(limit: number, ...chunks: (string | Buffer)[]): OutputCapture {
  const out = new OutputCapture(limit);
  for (const c of chunks) out.push(typeof c === 'string' ? Buffer.from(c) : c);
  return out;
}

const marker = (omitted: number) => `\n[... distcron: ${omitted} bytes omitted ...]\n`;

describe('OutputCapture', () => {
  it('keeps everything and is not truncated while the stream fits the limit', () => {
    const out = capture(10, 'abc', 'defghij');
    expect(out.text()).to.equal('abcdefghij');
    expect(out.truncated).to.equal(false);
    expect(out.droppedBytes).to.equal(0);
  });

  it('keeps the first half and the last half of the limit and counts the dropped middle', () => {
    const out = capture(10, '0123456789abcdefghij');
    expect(out.text()).to.equal(`01234${marker(10)}fghij`);
    expect(out.truncated).to.equal(true);
    expect(out.droppedBytes).to.equal(10);
  });

  it('gives the head the extra byte of an odd limit', () => {
    expect(capture(5, 'abcdefgh').text()).to.equal(`abc${marker(3)}gh`);
  });

  it('drops exactly one byte when the stream is one byte over the limit', () => {
    const out = capture(4, 'abcde');
    expect(out.droppedBytes).to.equal(1);
    expect(out.text()).to.equal(`ab${marker(1)}de`);
  });

  it('with limit 0 keeps nothing but still reports how much was omitted', () => {
    const out = capture(0, 'abc', 'de');
    expect(out.truncated).to.equal(true);
    expect(out.droppedBytes).to.equal(5);
    expect(out.text()).to.equal(marker(5));
  });

  it('with limit 0 and no output is empty and not truncated', () => {
    const out = capture(0);
    expect(out.truncated).to.equal(false);
    expect(out.text()).to.equal('');
  });

  it('with limit 1 keeps only the first byte', () => {
    expect(capture(1, 'x').text()).to.equal('x');
    const out = capture(1, 'xy', 'z');
    expect(out.text()).to.equal(`x${marker(2)}`);
    expect(out.droppedBytes).to.equal(2);
  });

  it('keeps the latest bytes when the tail is filled by many small chunks', () => {
    const out = capture(6, ...'abcdefghijklmnop'.split(''));
    expect(out.text()).to.equal(`abc${marker(10)}nop`);
  });

  it('keeps the latest bytes when a large chunk follows small ones', () => {
    const out = capture(6, 'ab', 'cd', 'ef', 'ghijklmnopqrstuvwxyz');
    expect(out.text()).to.equal(`abc${marker(20)}xyz`);
    expect(out.droppedBytes).to.equal(20);
  });

  it('gives the same result however the stream is split into chunks', () => {
    const bytes = fc.uint8Array({ minLength: 0, maxLength: 300 }).map((a) => a.map((b) => 32 + (b % 95)));
    fc.assert(
      fc.property(bytes, fc.nat(120), fc.array(fc.nat(300), { maxLength: 12 }), (data, limit, cuts) => {
        const whole = Buffer.from(data);
        const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...points].map((p, i) => whole.subarray(p, [...points, whole.length][i]));
        const out = capture(limit, ...chunks);
        expect(out.text()).to.equal(referenceText(whole, limit));
        expect(out.droppedBytes).to.equal(Math.max(0, whole.length - limit));
      }),
    );
  });

  it('does not split a UTF-8 character that falls between head and tail when nothing was dropped', () => {
    // limit 4: head keeps "a" + first byte of "é", tail keeps its second byte + "b"
    expect(capture(4, 'aéb').text()).to.equal('aéb');
  });

  it('moves the cut to whole characters when the middle was dropped, counting the bytes given up', () => {
    // 10 bytes, limit 4: head = "a" + 0xC3 (half of é), tail = 0xA9 (half of the other é) + "b"
    const out = capture(4, 'aé', 'zzzz', 'éb');
    expect(out.droppedBytes).to.equal(6);
    expect(out.text()).to.equal(`a${marker(8)}b`);
  });

  it('keeps valid UTF-8 valid wherever the cut falls', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 60 }).filter((t) => !/[\0\uFFFD]/.test(t));
    fc.assert(
      fc.property(text, fc.nat(40), fc.nat(8), (t, limit, chunkSize) => {
        const bytes = Buffer.from(t);
        const chunks = [];
        for (let i = 0; i < bytes.length; i += chunkSize + 1)
          chunks.push(bytes.subarray(i, i + chunkSize + 1));
        expect(capture(limit, ...chunks).text()).not.to.include('\uFFFD');
      }),
    );
  });

  it('turns invalid UTF-8 and NUL into U+FFFD instead of failing', () => {
    const out = capture(100, Buffer.from([0xff, 0xfe, 0x61, 0x00, 0x62, 0xc3]));
    expect(out.text()).to.equal('\uFFFD\uFFFDa\uFFFDb\uFFFD');
  });

  it('stays within the limit for random binary data of any size', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(64), (data, limit) => {
        const out = capture(limit, Buffer.from(data));
        expect(out.text()).to.be.a('string');
        expect(out.droppedBytes).to.equal(Math.max(0, data.length - limit));
      }),
    );
  });
});

/** Model: whole stream if it fits, else first ceil(limit/2) and last floor(limit/2) bytes. */
function referenceText(whole: Buffer, limit: number): string {
  if (whole.length <= limit) return whole.toString('latin1');
  const head = whole.subarray(0, Math.ceil(limit / 2)).toString('latin1');
  const tail = whole.subarray(whole.length - Math.floor(limit / 2)).toString('latin1');
  return `${head}${marker(whole.length - limit)}${tail}`;
}
