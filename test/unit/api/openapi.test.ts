import { expect } from 'chai';
import { openApiDocument } from '../../../src/api/openapi.js';
import { openApiPath } from '../../../src/api/routes.js';
import { API_ROUTES } from '../../../src/api/server.js';
import { ResponseChecker } from './openapi-check.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const doc = openApiDocument() as Json;

function documentedOperations(): string[] {
  return Object.entries(doc.paths as Json).flatMap(([path, item]) =>
    Object.keys(item as Json).map((method) => `${method} ${path}`),
  );
}

describe('api OpenAPI document', () => {
  it('is OpenAPI 3.1 with bearer security', () => {
    expect(doc.openapi).to.equal('3.1.0');
    expect(doc.components.securitySchemes.bearer).to.deep.equal({ type: 'http', scheme: 'bearer' });
  });

  it('documents every route the server serves, and nothing else', () => {
    const served = API_ROUTES.map((r) => `${r.method} ${openApiPath(r.path)}`).sort();
    expect(documentedOperations().sort()).to.deep.equal(served);
  });

  it("documents each route's required role and its path parameters", () => {
    for (const route of API_ROUTES) {
      const op = doc.paths[openApiPath(route.path)][route.method];
      expect(op['x-required-role'], route.path).to.equal(route.role ?? 'none');
      const inPath = [...route.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]);
      const params = op.parameters.filter((p: Json) => p.in === 'path').map((p: Json) => p.name);
      expect(params, route.path).to.deep.equal(inPath);
      if (route.role !== null) expect(op.responses, route.path).to.include.keys('401', '403');
      if (route.method !== 'get') expect(op.responses, route.path).to.include.keys('415', '421');
      expect(op.operationId, route.path).to.be.a('string');
    }
  });

  it('has a compilable JSON schema for every JSON response (all $refs resolve)', () => {
    const checker = new ResponseChecker(doc);
    expect(checker.compileAll()).to.be.greaterThan(80);
  });

  it('rejects a response that drifts from its schema', () => {
    const checker = new ResponseChecker(doc);
    const drifted = JSON.stringify({ status: 'ok', version: '1' });
    expect(() => checker.check('GET', '/healthz', 200, 'application/json', drifted)).to.throw(
      /does not match/,
    );
  });
});
