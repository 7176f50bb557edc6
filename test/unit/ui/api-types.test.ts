import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { API_TYPES_FILE, apiTypesSource } from '../../../scripts/gen-api-types.js';

describe('web console API types', function () {
  this.timeout(30_000);

  it('are generated from the OpenAPI document as it is now (run `npm run ui:types` after an API change)', async () => {
    const fresh = readFileSync(API_TYPES_FILE, 'utf8') === (await apiTypesSource());
    expect(fresh, 'src/ui/api-types.ts is stale: run npm run ui:types').to.equal(true);
  });
});
