import fc from 'fast-check';
import { expect } from 'chai';
import type { ResponseChecker } from './openapi-check.js';

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
}

const TEMPLATES = [
  '/api/v1/jobs',
  '/api/v1/jobs/{}',
  '/api/v1/jobs/{}/run',
  '/api/v1/jobs/{}/enable',
  '/api/v1/jobs/{}/disable',
  '/api/v1/jobs/{}/runs',
  '/api/v1/runs',
  '/api/v1/runs/{}',
  '/api/v1/runs/{}/cancel',
  '/api/v1/nodes',
  '/api/v1/nodes/{}',
  '/api/v1/config/errors',
  '/api/v1/openapi.json',
  '/healthz',
  '/metrics',
  '/',
  '/jobs',
  '/jobs/{}',
  '/jobs/{}/reports',
  '/nodes',
  '/nodes/{}',
];

const QUERY_KEYS = ['job', 'node', 'status', 'trigger', 'since', 'until', 'limit', 'cursor', 'tag', 'q', 'x'];

/** Path segments: real names, hostile names, random text (percent-encoded or deliberately broken). */
function segment(names: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      ...names,
      '..',
      '.',
      '.hidden',
      'a..b',
      'x'.repeat(129),
      '%2e%2e',
      '%00',
      '%E0%A4%A',
      '%zz',
    ),
    fc.string({ unit: 'binary', maxLength: 40 }).map(encodeURIComponent),
    fc.stringMatching(/^[A-Za-z0-9._~%-]{1,20}$/),
  );
}

function path(names: string[]): fc.Arbitrary<string> {
  const templated = fc
    .tuple(fc.constantFrom(...TEMPLATES), segment(names))
    .map(([template, seg]) => template.replace('{}', seg));
  const random = fc.array(segment(names), { minLength: 1, maxLength: 5 }).map((s) => `/${s.join('/')}`);
  const query = fc
    .array(
      fc.tuple(fc.constantFrom(...QUERY_KEYS), fc.oneof(fc.string({ maxLength: 30 }), fc.nat().map(String))),
      {
        maxLength: 4,
      },
    )
    .map((pairs) => (pairs.length === 0 ? '' : `?${new URLSearchParams(pairs).toString()}`));
  return fc.tuple(fc.oneof({ weight: 4, arbitrary: templated }, random), query).map(([p, q]) => p + q);
}

const body: fc.Arbitrary<string | Uint8Array<ArrayBuffer> | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc
    .record({
      command: fc.array(fc.string(), { maxLength: 3 }),
      node: fc.string(),
      environment: fc.jsonValue(),
    })
    .map((r) => JSON.stringify(r)),
  fc
    .record({ node: fc.string(), environment: fc.dictionary(fc.string(), fc.string()) })
    .map((r) => JSON.stringify(r)),
  fc
    .record({
      nodes: fc.array(fc.string(), { maxLength: 3 }),
      parameters: fc.dictionary(fc.string(), fc.jsonValue()),
    })
    .map((r) => JSON.stringify(r)),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Uint8Array.from(bytes)),
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json',
  undefined,
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/vnd.api+json',
  'garbage',
);

/** Random requests biased towards the API's real routes, with `tokens` (undefined = none). */
export function fuzzRequests(names: string[], tokens: (string | undefined)[]): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      method: fc.constantFrom('GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
      path: path(names),
      token: fc.constantFrom(...tokens),
      body,
      contentType,
    })
    .map(({ method, path, token, body, contentType }) => {
      const headers: Record<string, string> = {};
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      const read = method === 'GET' || method === 'HEAD';
      const sendBody = body !== undefined && !read;
      // Writes carry a content type with or without a body, as clients of the API must.
      if (!read && contentType !== undefined) headers['content-type'] = contentType;
      return { method, path, headers, body: sendBody ? body : undefined };
    });
}

/** Sends one request; asserts no 5xx and that the answer validates against the OpenAPI document. */
export async function sendFuzzRequest(
  baseUrl: string,
  checker: ResponseChecker,
  req: FuzzRequest,
): Promise<number> {
  const url = new URL(baseUrl + req.path);
  const res = await fetch(url, { method: req.method, headers: req.headers, body: req.body });
  const text = await res.text();
  expect(res.status, `${req.method} ${req.path} → ${res.status} ${text.slice(0, 200)}`).to.be.lessThan(500);
  checker.check(req.method, url.pathname, res.status, res.headers.get('content-type'), text);
  return res.status;
}
