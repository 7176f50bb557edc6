import fc from 'fast-check';
import { expect } from 'chai';
import { fuzzRequests, sendFuzzRequest } from './fuzz-requests.js';
import { startTestApi, TOKEN_FILE, TOKENS, type TestApi } from './setup.js';
import { testJob, testNode } from './test-control.js';

describe('api under random input (property-based)', function () {
  this.timeout(180_000);
  let t: TestApi;

  before(async () => {
    t = await startTestApi({ tokens: TOKEN_FILE });
    t.control.jobs.set('backup', testJob('backup'));
    t.control.nodes.set('web1', testNode('web1'));
  });
  after(() => t.close());

  it('never answers 5xx to 2,000 random requests, every answer matches the OpenAPI document, and it keeps serving', async () => {
    const statuses = new Map<number, number>();
    const requests = fuzzRequests(
      ['backup', 'web1'],
      [undefined, 'wrong', TOKENS.read, TOKENS.admin, TOKENS.admin],
    );
    await fc.assert(
      fc.asyncProperty(requests, async (req) => {
        const status = await sendFuzzRequest(t.api.url, t.checker, req);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }),
      { numRuns: 2_000, seed: 4242 },
    );
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).to.equal(2_000);
    // The mix must reach past the auth and routing layers, or the property proves little.
    for (const status of [200, 400, 401, 404])
      expect(statuses.get(status) ?? 0, `${status}s`).to.be.greaterThan(10);
    expect((await t.as().get('/healthz')).status).to.equal(200);
  });
});
