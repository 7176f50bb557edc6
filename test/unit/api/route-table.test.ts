import { expect } from 'chai';
import { ApiError } from '../../../src/api/errors.js';
import { RouteTable } from '../../../src/api/route-table.js';
import type { ApiRoute } from '../../../src/api/routes.js';

function route(method: ApiRoute['method'], path: string): ApiRoute {
  return { method, path, role: 'read', body: false, handle: () => undefined };
}

const routes = [
  route('get', '/api/v1/jobs'),
  route('get', '/api/v1/jobs/:name'),
  route('put', '/api/v1/jobs/:name'),
  route('post', '/api/v1/jobs/:name/run'),
  route('get', '/api/v1/config/errors'),
  route('get', '/jobs/:job/reports'),
];
const table = new RouteTable(routes);

function methodsAt(path: string): string[] | null {
  return table.match(path)?.routes.map((r) => `${r.method} ${r.path}`) ?? null;
}

describe('api: route table', () => {
  it('finds a static path and every method registered on it', () => {
    expect(methodsAt('/api/v1/jobs')).to.deep.equal(['get /api/v1/jobs']);
    expect(methodsAt('/api/v1/jobs/backup')).to.deep.equal([
      'get /api/v1/jobs/:name',
      'put /api/v1/jobs/:name',
    ]);
  });

  it('finds a static path beside parameterised paths of the same length', () => {
    expect(methodsAt('/api/v1/config/errors')).to.deep.equal(['get /api/v1/config/errors']);
  });

  it('hands out percent-decoded parameters', () => {
    expect(table.match('/api/v1/jobs/my%20job/run')?.params).to.deep.equal({ name: 'my job' });
    expect(table.match('/jobs/a%2Fb/reports')?.params).to.deep.equal({ job: 'a/b' });
  });

  it('ignores one trailing slash, like express, but not two', () => {
    expect(methodsAt('/api/v1/jobs/')).to.deep.equal(['get /api/v1/jobs']);
    expect(table.match('/api/v1/jobs/backup/run/')?.params).to.deep.equal({ name: 'backup' });
    expect(methodsAt('/api/v1/jobs//')).to.equal(null);
  });

  it('matches case-sensitively and never an empty parameter or extra segments', () => {
    expect(methodsAt('/API/v1/jobs')).to.equal(null);
    expect(methodsAt('/jobs//reports')).to.equal(null);
    expect(methodsAt('/api/v1/jobs/backup/run/now')).to.equal(null);
  });

  it('answers malformed percent-encoding with a 400', () => {
    expect(() => table.match('/api/v1/jobs/%E0%A4%A')).to.throw(ApiError, /percent-encoding/);
  });
});
