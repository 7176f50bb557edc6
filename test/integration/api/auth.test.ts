import { expect } from 'chai';
import { API_ROUTES } from '../../../src/api/server.js';
import { TOKEN_FILE, TOKENS } from '../../unit/api/setup.js';
import { LOCAL_NODE, QUICK_JOB, TestApi } from './test-api.js';

describe('api auth: listening', function () {
  this.timeout(60_000);

  it('listens on a non-loopback address when tokens are configured', async () => {
    const t = await TestApi.start({ tokens: TOKEN_FILE, options: { listen: '0.0.0.0:0' } });
    try {
      expect(t.url).to.match(/^http:\/\/0\.0\.0\.0:\d+$/);
    } finally {
      await t.close();
    }
  });
});

describe('api auth: role matrix on a real daemon', function () {
  this.timeout(120_000);
  let t: TestApi;
  before(
    async () =>
      (t = await TestApi.start({
        tokens: TOKEN_FILE,
        nodes: { n1: LOCAL_NODE },
        jobs: { backup: QUICK_JOB, other: QUICK_JOB },
      })),
  );
  after(() => t.close());

  /** One request per route; a valid body where the route needs one so only auth decides. */
  function requestFor(method: string, path: string): [string, string, unknown] {
    // A PUT or DELETE acts on "other", so the job every other route reads stays.
    const concrete = path
      .replace(':name', method === 'put' || method === 'delete' ? 'other' : 'backup')
      .replace(':job', 'backup')
      .replace(':node', 'n1')
      .replace(':id', 'X');
    const body = method === 'put' ? QUICK_JOB : method === 'post' ? {} : undefined;
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

  it("answers whoami with the token's name and role", async () => {
    expect((await t.as(TOKENS.read).get('/api/v1/whoami')).json).to.deep.equal({
      name: 'dashboard',
      role: 'read',
    });
    expect((await t.as(TOKENS.operate).get('/api/v1/whoami')).json).to.deep.equal({
      name: 'ci',
      role: 'operate',
    });
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

describe('api auth: no tokens on loopback', function () {
  this.timeout(60_000);
  let t: TestApi;
  before(async () => (t = await TestApi.start({ nodes: { n1: LOCAL_NODE } })));
  after(() => t.close());

  it('allows writes without a token', async () => {
    const reply = await t.as().put('/api/v1/jobs/fresh', QUICK_JOB);
    expect(reply.status).to.equal(201);
  });
});
