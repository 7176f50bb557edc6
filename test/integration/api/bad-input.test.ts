import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import type { ApiCaller } from '../../unit/api/http.js';
import { LOCAL_NODE, QUICK_JOB, TestApi } from './test-api.js';

function rawRequest(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

const JOB = { ...QUICK_JOB };

describe('api bad input on a real daemon', function () {
  this.timeout(60_000);
  let t: TestApi;
  let api: ApiCaller;
  const jobFiles = () => readdirSync(t.env.jobsDir).sort();
  before(async () => {
    t = await TestApi.start({ nodes: { web1: LOCAL_NODE }, jobs: { backup: QUICK_JOB } });
    api = t.as();
  });
  after(() => t.close());

  it('logs one access line per request, for unknown routes and nested job names too', async () => {
    const paths = ['/api/v1/no-such-route', '/api/v1/jobs/a/b', '/api/v1/runs'];
    const replies = [];
    for (const path of paths) replies.push((await api.call('DELETE', path)).status);
    replies.push((await api.get('/api/v1/no-such-route?marker=1')).status);
    expect(replies).to.deep.equal([404, 400, 405, 404]);
    const lines = t
      .logLines()
      .split('\n')
      .filter(
        (line) =>
          line.includes('"msg":"api: request"') && /no-such-route|jobs\/a\/b|"\/api\/v1\/runs"/.test(line),
      );
    expect(lines).to.have.length(4);
  });

  it('answers 400 malformed_json for a body that is not JSON', async () => {
    const reply = await api.call('POST', '/api/v1/jobs/backup/run', { body: '{"node": ' });
    expect([reply.status, reply.json.error.code]).to.deep.equal([400, 'malformed_json']);
  });

  it('answers 400 for JSON that is not an object or array at the top level', async () => {
    expect((await api.call('PUT', '/api/v1/jobs/x', { body: '"just a string"' })).status).to.equal(400);
    expect((await api.call('POST', '/api/v1/jobs/backup/run', { body: '[1]' })).json.error.code).to.equal(
      'invalid_body',
    );
  });

  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    it(`answers 415 for a ${type.split(';')[0]} body`, async () => {
      const reply = await api.call('PUT', '/api/v1/jobs/x', { body: JSON.stringify(JOB), contentType: type });
      expect([reply.status, reply.json.error.code]).to.deep.equal([415, 'unsupported_media_type']);
      expect(jobFiles()).to.deep.equal(['backup.json']);
    });
  }

  it('answers 415 for JSON in a charset other than UTF-8', async () => {
    const reply = await api.call('PUT', '/api/v1/jobs/x', {
      body: '{}',
      contentType: 'application/json; charset=latin1',
    });
    expect([reply.status, reply.json.error.code]).to.deep.equal([415, 'unsupported_charset']);
  });

  it('accepts +json media types', async () => {
    const reply = await api.call('PUT', '/api/v1/jobs/x', {
      body: JSON.stringify(JOB),
      contentType: 'application/merge-patch+json',
    });
    expect(reply.status).to.equal(201);
    expect((await api.delete('/api/v1/jobs/x')).status).to.equal(204);
  });

  it('answers 413 for a body over 1 MiB, and accepts one just under', async () => {
    const padding = (bytes: number) => JSON.stringify({ ...JOB, description: 'x'.repeat(bytes) });
    const over = await api.call('PUT', '/api/v1/jobs/big', { body: padding(1024 * 1024) });
    expect([over.status, over.json.error.code]).to.deep.equal([413, 'body_too_large']);
    expect(jobFiles()).to.deep.equal(['backup.json']);
    const spaced = JSON.stringify(JOB);
    const under = await api.call('PUT', '/api/v1/jobs/big', {
      body: spaced + ' '.repeat(1024 * 1024 - spaced.length - 100),
    });
    expect(under.status).to.equal(201);
    expect((await api.delete('/api/v1/jobs/big')).status).to.equal(204);
  });

  it('answers 413 for a small gzip body that inflates past 1 MiB', async () => {
    const bomb = gzipSync(Buffer.from(JSON.stringify({ ...JOB, description: ' '.repeat(4 << 20) })));
    expect(bomb.length).to.be.lessThan(64 * 1024);
    const res = await fetch(`${t.url}/api/v1/jobs/bomb`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bomb,
    });
    expect(res.status).to.equal(413);
    t.checker.check(
      'PUT',
      '/api/v1/jobs/bomb',
      res.status,
      res.headers.get('content-type'),
      await res.text(),
    );
  });

  it('answers 404 JSON for an unknown route', async () => {
    for (const path of ['/nope', '/api/v1', '/api/v2/jobs', '/api/v1/jobs/backup/run/now']) {
      const reply = await api.get(path);
      expect([reply.status, reply.json.error.code], path).to.deep.equal([404, 'not_found']);
    }
  });

  it('answers 405 with an Allow header for a known path and another method', async () => {
    const reply = await api.call('PATCH', '/api/v1/jobs/backup');
    expect([reply.status, reply.json.error.code]).to.deep.equal([405, 'method_not_allowed']);
    expect(reply.headers.get('allow')).to.equal('GET, PUT, DELETE, HEAD, OPTIONS');
    expect((await api.call('GET', '/api/v1/jobs/backup/run')).status).to.equal(405);
    const options = await api.call('OPTIONS', '/api/v1/runs');
    expect([options.status, options.headers.get('allow')]).to.deep.equal([204, 'GET, HEAD, OPTIONS']);
  });

  const badNames: [string, string][] = [
    ['a..b', 'a..b'],
    ['../../etc/passwd', '..%2F..%2Fetc%2Fpasswd'],
    ['a/b (encoded)', 'a%2Fb'],
    ['a/b (raw)', 'a/b'],
    ['a\\b', 'a%5Cb'],
    ['NUL', 'a%00b'],
    ['a leading dot', '.hidden'],
    ['129 characters', 'x'.repeat(129)],
    ['a space', 'my%20job'],
    ['malformed percent-encoding', '%E0%A4%A'],
  ];
  for (const [what, segment] of badNames) {
    it(`refuses the job name ${what} with 400 and writes nothing`, async () => {
      const reply = await api.put(`/api/v1/jobs/${segment}`, JOB);
      expect(reply.status).to.equal(400);
      expect(jobFiles()).to.deep.equal(['backup.json']);
      expect((await api.delete(`/api/v1/jobs/${segment}`)).status).to.equal(400);
    });
  }

  it('refuses the job name .. sent raw (clients normalize it away) with 400', async () => {
    const body = JSON.stringify(JOB);
    const answer = await rawRequest(
      t.url,
      `PUT /api/v1/jobs/.. HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(answer).to.match(/^HTTP\/1\.1 400 /);
    expect(answer).to.include('"invalid_name"');
    expect(jobFiles()).to.deep.equal(['backup.json']);
  });

  it('accepts a 128-character name', async () => {
    expect((await api.put(`/api/v1/jobs/${'x'.repeat(128)}`, JOB)).status).to.equal(201);
    expect((await api.delete(`/api/v1/jobs/${'x'.repeat(128)}`)).status).to.equal(204);
  });

  it('answers 431 JSON for request headers over the limit', async () => {
    const answer = await rawRequest(
      t.url,
      `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(answer).to.match(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(answer.split('\r\n\r\n')[1]!).error.code).to.equal('headers_too_large');
  });

  it('answers a malformed HTTP request with a JSON 400 and closes the connection', async () => {
    const answer = await rawRequest(
      t.url,
      'GET /healthz HTTP/1.1\r\nHost: localhost\r\nBroken header\r\n\r\n',
    );
    expect(answer).to.match(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(JSON.parse(answer.split('\r\n\r\n')[1]!).error.code).to.equal('bad_request');
    expect((await api.get('/healthz')).status).to.equal(200);
  });
});
