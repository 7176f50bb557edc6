import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { expect } from 'chai';
import { TOKEN_FILE, TOKENS } from '../../unit/api/setup.js';
import { LOCAL_NODE, QUICK_JOB, TestApi } from './test-api.js';

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One request with exactly these headers (fetch would not let a test set Host). */
function raw(url: string, method: string, path: string, headers: Record<string, string>, body?: string) {
  const { hostname, port } = new URL(url);
  return new Promise<RawReply>((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers, setHost: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, json: text ? JSON.parse(text) : undefined }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('api: no drive-by control from a web page (real daemon, without tokens)', function () {
  this.timeout(60_000);
  let t: TestApi;
  let host: string;
  let port: string;

  before(async () => {
    t = await TestApi.start({
      nodes: { web1: LOCAL_NODE },
      jobs: { target: QUICK_JOB, keep: QUICK_JOB },
      options: {
        apiAllowedHosts: ['cron.example', 'proxy.example:443'],
        apiCorsOrigins: ['https://console.example'],
      },
    });
    ({ host, port } = new URL(t.url));
  });
  after(() => t.close());

  const run = (headers: Record<string, string>, body?: string) =>
    raw(t.url, 'POST', '/api/v1/jobs/target/run', headers, body);

  const refusals: [string, Record<string, string>, string | undefined, number, string][] = [
    ['an HTML form POST', { 'content-type': 'application/x-www-form-urlencoded' }, 'node=web1', 415, ''],
    ['a text/plain POST', { 'content-type': 'text/plain' }, '{}', 415, ''],
    ['a multipart form POST', { 'content-type': 'multipart/form-data; boundary=x' }, '--x--', 415, ''],
    ['a bodiless POST without a content type', {}, undefined, 415, ''],
    ['a DNS-rebinding Host', { 'content-type': 'application/json', host: 'evil.example' }, '{}', 421, ''],
    [
      'a rebinding Host with our port',
      { 'content-type': 'application/json' },
      '{}',
      421,
      'evil.example:PORT',
    ],
    ['a loopback Host with another port', { 'content-type': 'application/json' }, '{}', 421, 'localhost:1'],
    [
      'an allowed name on a port not ours',
      { 'content-type': 'application/json' },
      '{}',
      421,
      'cron.example:1',
    ],
    [
      'a cross-site Origin',
      { 'content-type': 'application/json', origin: 'http://evil.example' },
      '{}',
      403,
      '',
    ],
    [
      'the Origin "null" (sandboxed page)',
      { 'content-type': 'application/json', origin: 'null' },
      '{}',
      403,
      '',
    ],
  ];
  for (const [what, headers, body, status, hostHeader] of refusals) {
    it(`refuses ${what} with ${status}, and the job does not run`, async () => {
      const named =
        hostHeader === '' ? (headers.host ?? `127.0.0.1:${port}`) : hostHeader.replace('PORT', port);
      const reply = await run({ ...headers, host: named }, body);
      expect(reply.status).to.equal(status);
      expect(reply.json.error.code).to.be.a('string');
      expect(t.runsOf('target')).to.deep.equal([]);
    });
  }

  it('refuses a rebinding PUT (421) and a DELETE without a content type (415), changing no file', async () => {
    const put = await raw(
      t.url,
      'PUT',
      '/api/v1/jobs/evil',
      { host: 'evil.example', 'content-type': 'application/json' },
      JSON.stringify(QUICK_JOB),
    );
    expect(put.status).to.equal(421);
    expect(existsSync(join(t.env.jobsDir, 'evil.json'))).to.equal(false);
    const del = await raw(t.url, 'DELETE', '/api/v1/jobs/keep', { host: `127.0.0.1:${port}` });
    expect(del.status).to.equal(415);
    expect(existsSync(join(t.env.jobsDir, 'keep.json'))).to.equal(true);
  });

  it('refuses reads through a rebinding Host too (the page could read the runs)', async () => {
    expect((await raw(t.url, 'GET', '/api/v1/runs', { host: 'evil.example' })).status).to.equal(421);
  });

  it('accepts its own addresses, loopback names, allowed hosts and its own or a configured origin', async () => {
    const json = { 'content-type': 'application/json' };
    const accepted = [
      { ...json, host: `${host}` },
      { ...json, host: `localhost:${port}` },
      { ...json, host: `cron.example:${port}` },
      { ...json, host: 'cron.example' },
      { ...json, host: 'proxy.example:443' },
      { ...json, host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` },
      { ...json, host: `127.0.0.1:${port}`, origin: 'https://console.example' },
    ];
    for (const headers of accepted)
      expect((await run(headers, '')).status, JSON.stringify(headers)).to.equal(202);
    expect(t.runsOf('target')).to.have.length(accepted.length);
  });

  it('answers a CORS preflight from a configured origin only', async () => {
    const preflight = (origin: string) =>
      raw(t.url, 'OPTIONS', '/api/v1/jobs/target/run', {
        host: `127.0.0.1:${port}`,
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      });
    const ok = await preflight('https://console.example');
    expect(ok.status).to.equal(204);
    expect(ok.headers['access-control-allow-origin']).to.equal('https://console.example');
    const other = await preflight('http://evil.example');
    expect(other.headers['access-control-allow-origin']).to.equal(undefined);
  });
});

describe('api: listening beyond loopback', function () {
  this.timeout(60_000);

  it('starts without tokens on 0.0.0.0 only with --api-insecure-no-auth, warning at start and on /healthz', async () => {
    const t = await TestApi.start({ options: { listen: '0.0.0.0:0', apiInsecureNoAuth: true } });
    try {
      const health = await t.as().get('/healthz');
      expect(health.json.status).to.equal('ok');
      expect(health.json.warning).to.match(/without tokens/);
      expect(t.logLines()).to.match(
        /"level":40,.*WARNING: the API listens on a non-loopback address without tokens/,
      );
    } finally {
      await t.close();
    }
  });

  it('asks for a read token on /metrics when tokens are set', async () => {
    const t = await TestApi.start({ tokens: TOKEN_FILE });
    try {
      expect((await t.as().get('/metrics')).status).to.equal(401);
      expect((await t.as(TOKENS.read).get('/metrics')).status).to.equal(200);
    } finally {
      await t.close();
    }
  });
});
