import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { LOCAL_NODE, QUICK_JOB, TestApi } from './test-api.js';

const isRoot = process.getuid?.() === 0;

describe('api: a job file the daemon cannot write (real daemon)', function () {
  this.timeout(60_000);
  let t: TestApi;
  before(async () => (t = await TestApi.start({ nodes: { web1: LOCAL_NODE }, jobs: { keep: QUICK_JOB } })));
  after(async () => {
    chmodSync(t.env.jobsDir, 0o755);
    await t.close();
  });

  // Root ignores file modes, so a directory where the file should be stands in for "not writable".
  it('answers 500 naming the path when something is in the way of the file, and the daemon keeps serving', async () => {
    mkdirSync(join(t.env.jobsDir, 'blocked.json'));
    const reply = await t.as().put('/api/v1/jobs/blocked', QUICK_JOB);
    expect([reply.status, reply.json.error.code]).to.deep.equal([500, 'not_writable']);
    expect(reply.json.error.message).to.include(join(t.env.jobsDir, 'blocked.json'));
    expect(reply.json.error.details.path).to.equal(join(t.env.jobsDir, 'blocked.json'));
    expect(readdirSync(t.env.jobsDir).filter((f) => f.endsWith('.tmp'))).to.have.length.at.most(1);
    expect((await t.as().get('/api/v1/jobs/keep')).status).to.equal(200);
  });

  // Root ignores permission bits, so only a non-root run can provoke EACCES (CI runs as root, and
  // the test above covers the same answer through a directory where the job file goes).
  if (!isRoot)
    it('answers 500 naming jobs.d when it is read-only for the daemon user (EACCES)', async () => {
      chmodSync(t.env.jobsDir, 0o555);
      try {
        const reply = await t.as().put('/api/v1/jobs/fresh', QUICK_JOB);
        expect([reply.status, reply.json.error.code]).to.deep.equal([500, 'not_writable']);
        expect(reply.json.error.message).to.include(t.env.jobsDir).and.include('permission denied');
      } finally {
        chmodSync(t.env.jobsDir, 0o755);
      }
    });
});
