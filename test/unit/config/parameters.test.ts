import { expect } from 'chai';
import { parseJobText } from '../../../src/config/index.js';
import { parameterNameProblem, resolveParameters } from '../../../src/core/parameters.js';
import type { ParameterSpec } from '../../../src/core/types.js';

const ISSUE_EXAMPLE = {
  TARGET: { enum: ['db1', 'db2'], default: 'db1' },
  COUNT: { pattern: '^[0-9]{1,4}$', required: true },
  NOTE: { type: 'string', max_length: 200 },
};

function parse(body: object) {
  return parseJobText('jobs.d/p.json', JSON.stringify(body), { defaultTimezone: 'UTC' });
}

describe('job parameters: declarations', () => {
  it('parses the declared rules into typed values', () => {
    const { job, problems } = parse({
      policy: { hosts: ['db1'] },
      command: ['/bin/true'],
      parameters: ISSUE_EXAMPLE,
    });
    expect(problems).to.deep.equal([]);
    expect(job!.parameters).to.deep.equal({
      TARGET: { type: 'string', required: false, enum: ['db1', 'db2'], default: 'db1' },
      COUNT: { type: 'string', required: true, pattern: '^[0-9]{1,4}$' },
      NOTE: { type: 'string', required: false, maxLength: 200 },
    });
  });

  it('gives a job without "parameters" none', () => {
    expect(parse({ policy: { hosts: ['db1'] }, command: ['/bin/true'] }).job!.parameters).to.deep.equal({});
  });

  it('lets a scheduled job declare a required parameter that has a default', () => {
    const { job, problems } = parse({
      policy: { hosts: ['db1'] },
      command: ['/bin/true'],
      schedule: '@every 1h',
      parameters: { C: { required: true, default: '5', pattern: '^[0-9]$' } },
    });
    expect(problems).to.deep.equal([]);
    expect(job!.parameters.C!.default).to.equal('5');
  });

  for (const name of ['LD_PRELOAD', 'ld_library_path', 'DYLD_INSERT_LIBRARIES', 'PATH', 'BASH_ENV', 'ENV']) {
    it(`refuses to declare ${name}`, () => expect(parameterNameProblem(name)).to.be.a('string'));
  }
  for (const name of ['IFS', 'PS4', 'SHELLOPTS', 'BASHOPTS', 'NODE_OPTIONS', 'PYTHONPATH', 'PERL5LIB']) {
    it(`refuses to declare ${name}`, () => expect(parameterNameProblem(name)).to.be.a('string'));
  }
  for (const name of ['GCONV_PATH', 'HOME', 'DISTCRON_RUN_ID', 'BASH_FUNC_x%%']) {
    it(`refuses to declare ${name}`, () => expect(parameterNameProblem(name)).to.be.a('string'));
  }
  it('accepts ordinary names', () => {
    for (const name of ['TARGET', 'COUNT', 'db_host', '_X1'])
      expect(parameterNameProblem(name)).to.equal(null);
  });
});

describe('job parameters: the values of one run', () => {
  const declared: Record<string, ParameterSpec> = {
    TARGET: { type: 'string', required: false, enum: ['db1', 'db2'], default: 'db1' },
    COUNT: { type: 'string', required: true, pattern: '^[0-9]{1,4}$' },
    NOTE: { type: 'string', required: false, maxLength: 5 },
  };

  it('fills defaults and keeps the given values', () => {
    expect(resolveParameters(declared, { COUNT: '12' })).to.deep.equal({
      ok: true,
      values: { TARGET: 'db1', COUNT: '12' },
    });
    expect(resolveParameters(declared, { COUNT: '1', TARGET: 'db2', NOTE: 'hi' })).to.deep.equal({
      ok: true,
      values: { TARGET: 'db2', COUNT: '1', NOTE: 'hi' },
    });
  });

  const refused: [string, Record<string, unknown>, string, RegExp][] = [
    ['an undeclared name', { COUNT: '1', LD_PRELOAD: '/tmp/x.so' }, 'LD_PRELOAD', /not declared/],
    ['a missing required value', {}, 'COUNT', /COUNT is required/],
    ['a value outside the enum', { COUNT: '1', TARGET: 'db3' }, 'TARGET', /must be one of "db1", "db2"/],
    ['a value not matching the pattern', { COUNT: '12345' }, 'COUNT', /must match the pattern/],
    ['a pattern matched only in part', { COUNT: '1; rm -rf /' }, 'COUNT', /must match the pattern/],
    ['a value longer than max_length', { COUNT: '1', NOTE: 'abcdef' }, 'NOTE', /at most 5 characters/],
    ['a newline', { COUNT: '1', NOTE: 'a\nb' }, 'NOTE', /newline/],
    ['a carriage return', { COUNT: '1', NOTE: 'a\rb' }, 'NOTE', /carriage return/],
    ['a NUL', { COUNT: '1', NOTE: 'a\0b' }, 'NOTE', /NUL/],
    ['a number instead of a string', { COUNT: 12 }, 'COUNT', /must be a string/],
  ];
  for (const [what, given, parameter, message] of refused) {
    it(`refuses ${what}, naming the parameter`, () => {
      const result = resolveParameters(declared, given);
      expect(result.ok).to.equal(false);
      if (result.ok) return;
      expect(result.parameter).to.equal(parameter);
      expect(result.message).to.match(message);
    });
  }

  it('refuses a 10,000-entry object without looking at each entry', () => {
    const many = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`P${i}`, 'x']));
    const result = resolveParameters(declared, many);
    expect(result).to.deep.include({ ok: false, parameter: '*' });
  });

  it('refuses every value for a job that declares no parameters', () => {
    expect(resolveParameters({}, { X: '1' })).to.deep.include({ ok: false, parameter: 'X' });
    expect(resolveParameters({}, {})).to.deep.equal({ ok: true, values: {} });
  });
});
