import { expect } from 'chai';
import { TOKEN_FILE, TOKENS } from '../../unit/api/setup.js';
import { LOCAL_NODE, nextPath, QUICK_JOB, SLEEPY_JOB, TestApi } from './test-api.js';

interface Entry {
  id: number;
  at: string;
  token: string | null;
  action: string;
  target: string;
  address: string | null;
  status: number;
}

describe('api audit log (real daemon with tokens)', function () {
  this.timeout(60_000);
  let t: TestApi;

  before(async () => {
    t = await TestApi.start({
      tokens: TOKEN_FILE,
      nodes: { web1: LOCAL_NODE },
      jobs: { quick: QUICK_JOB, sleepy: SLEEPY_JOB },
    });
  });
  after(() => t.close());

  async function allEntries(): Promise<Entry[]> {
    const entries: Entry[] = [];
    let path: string | null = '/api/v1/audit?limit=2';
    while (path) {
      const reply = await t.as(TOKENS.admin).get(path);
      expect(reply.status).to.equal(200);
      entries.push(...(reply.json.entries as Entry[]));
      path = nextPath(reply.headers.get('link'));
    }
    return entries;
  }

  it('stores every write with the token name, action, target, address and answer, newest first', async () => {
    const operate = t.as(TOKENS.operate);
    const admin = t.as(TOKENS.admin);
    expect((await admin.put('/api/v1/jobs/made', QUICK_JOB)).status).to.equal(201);
    expect((await operate.post('/api/v1/jobs/quick/run')).status).to.equal(202);
    const sleeping = await operate.post('/api/v1/jobs/sleepy/run');
    expect((await operate.post(`/api/v1/runs/${sleeping.json.run_ids[0]}/cancel`)).status).to.equal(202);
    expect((await operate.post('/api/v1/jobs/quick/disable')).status).to.equal(200);
    expect((await operate.post('/api/v1/jobs/quick/enable')).status).to.equal(200);
    expect((await t.as(TOKENS.read).post('/api/v1/jobs/quick/run')).status).to.equal(403);
    expect((await t.as('not-a-token').post('/api/v1/jobs/quick/run')).status).to.equal(401);
    expect((await admin.delete('/api/v1/jobs/made')).status).to.equal(204);

    const entries = await allEntries();
    expect(entries.map((e) => [e.token, e.action, e.target, e.status])).to.deep.equal([
      ['ops', 'job.delete', 'made', 204],
      ['dashboard', 'job.run', 'quick', 403],
      ['ci', 'job.enable', 'quick', 200],
      ['ci', 'job.disable', 'quick', 200],
      ['ci', 'run.cancel', sleeping.json.run_ids[0], 202],
      ['ci', 'job.run', 'sleepy', 202],
      ['ci', 'job.run', 'quick', 202],
      ['ops', 'job.put', 'made', 201],
    ]);
    for (const e of entries) {
      expect(e.address).to.equal('127.0.0.1');
      expect(Number.isNaN(Date.parse(e.at))).to.equal(false);
    }
    expect(t.logLines()).to.match(/api: audit job.run quick by ci/);
    for (const token of Object.values(TOKENS)) expect(t.logLines()).to.not.include(token);
  });

  it('lists the audit log to admins only', async () => {
    expect((await t.as(TOKENS.read).get('/api/v1/audit')).status).to.equal(403);
    expect((await t.as(TOKENS.operate).get('/api/v1/audit')).status).to.equal(403);
    expect((await t.as().get('/api/v1/audit')).status).to.equal(401);
    expect((await t.as(TOKENS.admin).get('/api/v1/audit?cursor=bogus')).status).to.equal(400);
  });
});
