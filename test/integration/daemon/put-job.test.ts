import { expect } from 'chai';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Daemon } from '../../../src/daemon/daemon.js';
import { DaemonEnv } from '../../harness/daemon-env.js';

const JOB = { policy: { select: 'any', roles: ['local'] }, schedule: '@manual', command: ['echo', 'hi'] };

/** PUT / DELETE /api/v1/jobs/:name over HTTP against a real daemon on temp directories. */
describe('daemon: PUT and DELETE of a job answer once the change is active', function () {
  this.timeout(60_000);
  let env: DaemonEnv;
  let daemon: Daemon;

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(daemon.apiUrl + path, {
      method,
      // Every write carries the JSON content type, also a bodiless DELETE (the API refuses others).
      headers: method === 'GET' ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };

  beforeEach(() => {
    env = new DaemonEnv();
    env.writeNode('local', { roles: ['local'], connection_type: 'local' });
  });
  afterEach(() => env.cleanup());

  // jobs.d given relative to the working directory, as `npm start` does.
  const start = async () =>
    (daemon = await env.start({
      listen: '127.0.0.1:0',
      shutdownGraceMs: 0,
      jobsDir: `./${relative(process.cwd(), env.jobsDir)}`,
    }));

  it('a PUT job can be read and run at once, and a DELETEd one is gone at once', async () => {
    await start();
    const put = await call('PUT', '/api/v1/jobs/fresh', { ...JOB, description: 'v1' });
    expect(put.status).to.equal(201);
    expect(put.json.job.description).to.equal('v1');
    expect((await call('GET', '/api/v1/jobs/fresh')).status).to.equal(200);
    const run = await call('POST', '/api/v1/jobs/fresh/run', {});
    expect(run.status).to.equal(202);
    const id = run.json.run_ids[0] as string;
    expect(await daemon.control.waitForRun(id)).to.include({ status: 'succeeded', stdout: 'hi\n' });
    expect((await call('DELETE', '/api/v1/jobs/fresh')).status).to.equal(204);
    expect((await call('GET', '/api/v1/jobs/fresh')).status).to.equal(404);
    expect((await call('POST', '/api/v1/jobs/fresh/run', {})).status).to.equal(404);
  });

  it('writes a job that lives in a subdirectory in place, also when that file is broken', async () => {
    mkdirSync(join(env.jobsDir, 'team'));
    const file = join(env.jobsDir, 'team', 'x.json');
    writeFileSync(file, JSON.stringify({ ...JOB, description: 'v1' }));
    writeFileSync(join(env.jobsDir, 'team', 'broken.json'), '{ "policy": ');
    await start();
    const put = await call('PUT', '/api/v1/jobs/x', { ...JOB, description: 'v2' });
    expect(put.status).to.equal(200);
    expect(put.json.job.description).to.equal('v2');
    expect(JSON.parse(readFileSync(file, 'utf8')).description).to.equal('v2');
    expect(existsSync(join(env.jobsDir, 'x.json'))).to.equal(false);
    expect((await call('GET', '/api/v1/config/errors')).json.errors ?? []).to.not.satisfy(
      (errors: { file: string; message: string }[]) => errors.some((e) => /x\.json/.test(e.file)),
    );

    const fixed = await call('PUT', '/api/v1/jobs/broken', JOB);
    expect(fixed.status).to.equal(201);
    expect(JSON.parse(readFileSync(join(env.jobsDir, 'team', 'broken.json'), 'utf8'))).to.deep.equal(JOB);
    expect(existsSync(join(env.jobsDir, 'broken.json'))).to.equal(false);
    expect((await call('DELETE', '/api/v1/jobs/x')).status).to.equal(204);
    expect(existsSync(file)).to.equal(false);
  });

  it('two concurrent PUTs of one job both succeed, leave no temp file, and the view matches the file', async () => {
    await start();
    const replies = await Promise.all(
      ['a', 'b', 'c', 'd'].map((v) => call('PUT', '/api/v1/jobs/twice', { ...JOB, description: v })),
    );
    expect(replies.map((r) => r.status).sort()).to.deep.equal([200, 200, 200, 201]);
    for (const reply of replies) expect(reply.json.job.name).to.equal('twice');
    expect(readdirSync(env.jobsDir)).to.deep.equal(['twice.json']);
    const onDisk = JSON.parse(readFileSync(join(env.jobsDir, 'twice.json'), 'utf8')).description;
    expect((await call('GET', '/api/v1/jobs/twice')).json.description).to.equal(onDisk);
  });

  // Slow (~35 s): while SQLite stays locked every store write blocks the loop for the busy timeout.
  it('a PUT the store cannot take answers 503 (retry later) and leaves the file as it was', async () => {
    await start();
    const blocker = new Database(env.dbPath);
    blocker.exec('BEGIN IMMEDIATE');
    let put;
    try {
      put = await call('PUT', '/api/v1/jobs/blocked', JOB);
    } finally {
      blocker.exec('ROLLBACK');
      blocker.close();
    }
    expect(put.status).to.equal(503);
    expect(JSON.stringify(put.json)).to.match(/could not apply it/);
    expect(existsSync(join(env.jobsDir, 'blocked.json'))).to.equal(false);
    expect((await call('GET', '/api/v1/jobs/blocked')).status).to.equal(404);
  });
});
