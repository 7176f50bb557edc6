import { expect } from 'chai';
import { toApiError } from '../../../src/api/errors.js';
import { ControlError } from '../../../src/daemon/control.js';

describe('api errors', () => {
  it('answers a daemon that is shutting down with 503, and the other control errors with 4xx', () => {
    const status = (code: ConstructorParameters<typeof ControlError>[0]) =>
      toApiError(new ControlError(code, 'why')).status;
    expect(['unavailable', 'not_found', 'conflict', 'invalid'].map((c) => status(c as never))).to.deep.equal([
      503, 404, 409, 400,
    ]);
  });

  it('names the path of a write the file system refused, and hides other internals', () => {
    const denied = Object.assign(new Error('EACCES: permission denied'), {
      code: 'EACCES',
      path: '/etc/distcron/jobs.d/.x.json.tmp',
    });
    const error = toApiError(denied);
    expect([error.status, error.code]).to.deep.equal([500, 'not_writable']);
    expect(error.message).to.include('/etc/distcron/jobs.d/.x.json.tmp').and.include('permission denied');
    const internal = toApiError(new TypeError('x is undefined'));
    expect([internal.status, internal.message]).to.deep.equal([
      500,
      'api: internal error; see the daemon log',
    ]);
  });
});
