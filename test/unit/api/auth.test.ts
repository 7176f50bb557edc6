import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { isLoopbackHost, loadApiTokens, TokenVerifier } from '../../../src/api/auth.js';
import { API_ROUTES, sha256Hex, startApiServer } from '../../../src/api/server.js';
import { startTestApi, TOKEN_FILE, TOKENS, type TestApi } from './setup.js';
import { TestControl, testJob } from './test-control.js';

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

  it('refuses to listen on a non-loopback address without tokens', async () => {
    const control = new TestControl();
    try {
      let error: Error | undefined;
      await startApiServer(control, { host: '0.0.0.0', port: 0, tokens: null }).catch(
        (e: Error) => (error = e),
      );
      expect(error?.message).to.match(
        /^api: refusing to listen on 0\.0\.0\.0 without API tokens; pass --api-tokens/,
      );
    } finally {
      control.close();
    }
  });

  it('listens on a non-loopback address when tokens are configured', async () => {
    const control = new TestControl();
    const api = await startApiServer(control, { host: '0.0.0.0', port: 0, tokens: TOKEN_FILE });
    try {
      expect(api.url).to.match(/^http:\/\/0\.0\.0\.0:\d+$/);
    } finally {
      await api.close();
      await api.close(); // idempotent
      control.close();
    }
  });
});

describe('api auth: role matrix', () => {
  let t: TestApi;
  before(async () => (t = await startTestApi({ tokens: TOKEN_FILE })));
  beforeEach(() => t.control.jobs.set('backup', testJob('backup')));
  after(() => t.close());

  /** One request per route; a valid body where the route needs one so only auth decides. */
  function requestFor(method: string, path: string): [string, string, unknown] {
    const concrete = path
      .replace(':name', 'backup')
      .replace(':job', 'backup')
      .replace(':node', 'n1')
      .replace(':id', 'X');
    const body = method === 'put' ? { command: ['true'] } : method === 'post' ? {} : undefined;
    return [method.toUpperCase(), concrete, body];
  }

  const cases = API_ROUTES.map((r) => ({ method: r.method, path: r.path, role: r.role }));
  const rank = { read: 0, operate: 1, admin: 2 } as const;

  for (const { method, path, role } of cases) {
    const rule =
      role === null ? 'answers without a token' : `answers 401 without a valid token and 403 below ${role}`;
    it(`${method.toUpperCase()} ${path} ${rule}`, async () => {
      const [m, p, body] = requestFor(method, path);
      const anonymous = await t.as().call(m, p, { body });
      const wrong = await t.as('wrong-token').call(m, p, { body });
      if (role === null) {
        expect(anonymous.status).to.be.lessThan(400);
        return;
      }
      expect([anonymous.status, wrong.status]).to.deep.equal([401, 401]);
      expect(anonymous.headers.get('www-authenticate')).to.match(/^Bearer/);
      for (const held of ['read', 'operate', 'admin'] as const) {
        const reply = await t.as(TOKENS[held]).call(m, p, { body });
        if (rank[held] < rank[role]) expect(reply.status, `${held} token`).to.equal(403);
        else expect([401, 403], `${held} token`).to.not.include(reply.status);
      }
    });
  }

  it('accepts the scheme name in any case but nothing but Bearer', async () => {
    const lower = await t.as().get('/api/v1/jobs', { headers: { authorization: `bearer ${TOKENS.read}` } });
    const basic = await t.as().get('/api/v1/jobs', { headers: { authorization: `Basic ${TOKENS.read}` } });
    expect([lower.status, basic.status]).to.deep.equal([200, 401]);
  });

  it('logs the token name, never the token', async () => {
    await t.as(TOKENS.admin).post('/api/v1/jobs/backup/disable', {});
    await t.as(TOKENS.read).get('/api/v1/jobs', { headers: { 'x-extra': TOKENS.read } });
    const log = t.logLines();
    expect(log).to.include('"token":"ops"');
    expect(log).to.include('"token":"dashboard"');
    for (const secret of Object.values(TOKENS)) expect(log).to.not.include(secret);
  });
});

describe('api auth: no tokens on loopback', () => {
  let t: TestApi;
  before(async () => (t = await startTestApi({ tokens: null })));
  after(() => t.close());

  it('allows writes without a token', async () => {
    const reply = await t.as().put('/api/v1/jobs/fresh', { command: ['true'] });
    expect(reply.status).to.equal(201);
  });
});
