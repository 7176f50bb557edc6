import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { isLoopbackHost, loadApiTokens, TokenVerifier } from '../../../src/api/auth.js';
import { sha256Hex } from '../../../src/api/server.js';
import { TOKEN_FILE, TOKENS } from './setup.js';

describe('api auth: token file', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'distcron-tokens-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function load(content: string) {
    const file = join(dir, 'tokens.json');
    writeFileSync(file, content);
    return () => loadApiTokens(file);
  }

  it('loads name, lower-cased hash and role of every entry', () => {
    const upper = sha256Hex('x').toUpperCase();
    const tokens = load(JSON.stringify([{ name: 'ci', sha256: upper, role: 'operate' }]))();
    expect(tokens).to.deep.equal([{ name: 'ci', sha256: sha256Hex('x'), role: 'operate' }]);
  });

  const invalid: [string, string, RegExp][] = [
    ['invalid JSON', '[{', /not valid JSON/],
    ['an object instead of an array', '{}', /non-empty JSON array/],
    ['an empty array', '[]', /non-empty JSON array/],
    ['a short hash', JSON.stringify([{ name: 'a', sha256: 'abc', role: 'read' }]), /64 hex digits/],
    [
      'an unknown role',
      JSON.stringify([{ name: 'a', sha256: sha256Hex('a'), role: 'root' }]),
      /read, operate, admin/,
    ],
    ['a missing name', JSON.stringify([{ sha256: sha256Hex('a'), role: 'read' }]), /\.name must be/],
    [
      'an unknown field',
      JSON.stringify([{ name: 'a', sha256: sha256Hex('a'), role: 'read', token: 'x' }]),
      /token/,
    ],
    [
      'a duplicate name',
      JSON.stringify([
        { name: 'a', sha256: sha256Hex('a'), role: 'read' },
        { name: 'a', sha256: sha256Hex('b'), role: 'read' },
      ]),
      /used twice/,
    ],
  ];
  for (const [what, content, message] of invalid) {
    it(`rejects a file with ${what}, naming the file`, () => {
      const read = load(content);
      expect(read).to.throw(/^api: .*tokens\.json/);
      expect(read).to.throw(message);
    });
  }

  it('reports a missing file clearly', () => {
    expect(() => loadApiTokens(join(dir, 'nope.json'))).to.throw(/api: cannot read the token file/);
  });
});

describe('api auth: verification and listening', () => {
  it('matches a presented token by its SHA-256 and rejects others', () => {
    const verifier = new TokenVerifier(TOKEN_FILE);
    expect(verifier.verify(TOKENS.operate)?.name).to.equal('ci');
    expect(verifier.verify('operate-secret-tokeN')).to.equal(null);
    expect(verifier.verify('')).to.equal(null);
  });

  it('treats 127.0.0.0/8, ::1 and localhost as loopback and nothing else', () => {
    for (const h of ['127.0.0.1', '127.3.4.5', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(h), h).to.equal(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1'])
      expect(isLoopbackHost(h), h).to.equal(false);
  });
});
