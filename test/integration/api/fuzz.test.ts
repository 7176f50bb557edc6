import fc from 'fast-check';
import { expect } from 'chai';
import { fuzzRequests, sendFuzzRequest } from '../../unit/api/fuzz-requests.js';
import { TOKEN_FILE, TOKENS } from '../../unit/api/setup.js';
import { ApiDaemon } from './api-daemon.js';

describe('real daemon under 10,000 random API requests (property-based)', function () {
  this.timeout(300_000);
  const d = new ApiDaemon(TOKEN_FILE);

  before(async () => {
    d.env.writeNode('local', { roles: ['local'], connection_type: 'local' });
    d.env.writeJob('quick', { policy: { select: 'any', roles: ['local'] }, command: ['true'] });
    await d.start();
  });
  after(() => d.cleanup());

  it('never answers 5xx, every answer matches the OpenAPI document, and the daemon keeps serving', async () => {
    const statuses = new Map<number, number>();
    const tokens = [undefined, 'wrong', TOKENS.read, TOKENS.operate, TOKENS.admin, TOKENS.admin];
    await fc.assert(
      fc.asyncProperty(fuzzRequests(['quick', 'local'], tokens), async (req) => {
        const status = await sendFuzzRequest(d.url, d.checker, req);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }),
      { numRuns: 10_000, seed: 20261126 },
    );
    for (const status of [200, 400, 401, 403, 404])
      expect(statuses.get(status) ?? 0, `${status}s`).to.be.greaterThan(20);
    expect((await d.as().get('/healthz')).status).to.equal(200);
    expect((await d.as(TOKENS.read).get('/api/v1/jobs/quick')).status).to.equal(200);
  });
});
