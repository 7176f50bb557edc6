import { expect } from 'chai';
import { ApiError } from '../../../src/api/errors.js';
import { MAX_RUN_PARAMETERS, parseRunRequest } from '../../../src/api/routes-jobs.js';

function refusal(body: unknown): ApiError {
  try {
    parseRunRequest(body, 'ci');
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('api: the run request body', () => {
  it('takes nodes and parameters, and maps the legacy node and environment onto them', () => {
    expect(parseRunRequest(undefined, null)).to.deep.equal({ requestedBy: null });
    expect(parseRunRequest({ nodes: ['a', 'b', 'a'], parameters: { TARGET: 'db1' } }, 'ci')).to.deep.equal({
      requestedBy: 'ci',
      nodes: ['a', 'b'],
      parameters: { TARGET: 'db1' },
    });
    expect(parseRunRequest({ node: 'a', environment: { COUNT: '3' } }, 'ci')).to.deep.equal({
      requestedBy: 'ci',
      nodes: ['a'],
      parameters: { COUNT: '3' },
    });
  });

  it('refuses a 10,000-entry parameter object before it reaches the daemon', () => {
    const huge = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`P${i}`, 'x']));
    const error = refusal({ parameters: huge });
    expect([error.status, error.code]).to.deep.equal([400, 'invalid_parameter']);
    expect(error.message).to.include(`at most ${MAX_RUN_PARAMETERS}`);
  });

  const bad: [string, unknown, string][] = [
    ['a number value', { parameters: { COUNT: 3 } }, 'COUNT'],
    ['an over-long value', { parameters: { NOTE: 'x'.repeat(5000) } }, 'NOTE'],
    ['a newline in a value', { parameters: { NOTE: 'a\nb' } }, 'NOTE'],
    ['a NUL in a value', { parameters: { NOTE: 'a\u0000b' } }, 'NOTE'],
    ['a name that is no variable name', { environment: { 'BAD-NAME': 'x' } }, 'BAD-NAME'],
  ];
  for (const [what, body, parameter] of bad) {
    it(`refuses ${what} with 400 naming the parameter`, () => {
      const error = refusal(body);
      expect([error.status, error.details?.parameter]).to.deep.equal([400, parameter]);
    });
  }

  it('refuses both forms at once, empty or non-string node lists and unknown fields', () => {
    expect(refusal({ node: 'a', nodes: ['b'] }).code).to.equal('invalid_body');
    expect(refusal({ parameters: {}, environment: {} }).code).to.equal('invalid_body');
    expect(refusal({ nodes: [] }).code).to.equal('invalid_body');
    expect(refusal({ nodes: [7] }).code).to.equal('invalid_body');
    expect(refusal({ env: {} }).code).to.equal('unknown_fields');
  });
});
