import { expect } from 'chai';
import {
  crossCheck,
  isValidJobName,
  parseJobText,
  parseNodeText,
  validateJobBody,
} from '../../../src/config/index.js';
import type { JobDef, NodeDef } from '../../../src/core/types.js';

const OPTS = { defaultTimezone: 'UTC' };

function node(name: string, body: object): NodeDef {
  const { node: def, problems } = parseNodeText(`nodes.d/${name}.json`, JSON.stringify(body));
  expect(problems).to.deep.equal([]);
  return def!;
}

function job(name: string, text: string): JobDef {
  const { job: def, problems } = parseJobText(`jobs.d/${name}.json`, text, OPTS);
  expect(problems).to.deep.equal([]);
  return def!;
}

describe('config: job bodies from the API', () => {
  it('returns exactly the text to write, and the job parsed from it', () => {
    const body = { policy: { hosts: ['db1'] }, command: ['/bin/true'] };
    const result = validateJobBody('nightly', body, OPTS);
    expect(result.text).to.equal(`${JSON.stringify(body, null, 2)}\n`);
    expect(result.problems).to.deep.equal([]);
    expect(result.job?.name).to.equal('nightly');
    expect(result.job?.file).to.equal('jobs.d/nightly.json');
  });

  it('locates problems in the text that would be written', () => {
    const result = validateJobBody(
      'nightly',
      { policy: { hosts: ['db1'] }, command: ['/bin/true'], timeout: '2d' },
      OPTS,
    );
    expect(result.job).to.equal(undefined);
    const lines = result.text.split('\n');
    const line = lines.findIndex((l) => l.includes('"2d"')) + 1;
    expect(result.problems).to.have.length(1);
    expect(result.problems[0]).to.deep.include({
      file: 'jobs.d/nightly.json',
      line,
      column: lines[line - 1]!.indexOf('"2d"') + 1,
      path: '$.timeout',
    });
  });

  it('refuses names that could leave jobs.d, before looking at the body', () => {
    for (const name of [
      '../etc/passwd',
      'a/b',
      'a\\b',
      '.hidden',
      '',
      'x'.repeat(129),
      'a\0b',
      'a b',
      '..',
      'ä',
    ]) {
      const result = validateJobBody(name, { command: ['x'] }, OPTS);
      expect(result.problems, name).to.have.length(1);
      expect(result.problems[0]!.message, name).to.match(/^invalid job name/);
      expect(result.text).to.equal('');
    }
  });

  it('refuses bodies that are not objects', () => {
    for (const body of [null, [], 'x', 3, undefined]) {
      const result = validateJobBody('ok', body, OPTS);
      expect(result.problems[0]!.message).to.contain('must be a JSON object');
    }
  });

  it('accepts plain names and rejects everything else', () => {
    expect(['backup', 'db-dump_2', 'a.b', 'A'.repeat(128)].every(isValidJobName)).to.equal(true);
    expect(
      ['..', 'a/../b', '/abs', '.x', 'x\\y', 'x\0', '', 'A'.repeat(129), 'x y', 'x:y', 3].some(
        isValidJobName,
      ),
    ).to.equal(false);
  });
});

describe('config: checks across files', () => {
  const nodes = [
    node('db1', { roles: ['db'], connection_type: 'local' }),
    node('web1', {
      roles: ['web'],
      connection_type: 'ssh',
      connection_options: { ssh_host: 'w', ssh_user: 'u', ssh_agent: true, ssh_jump: 'gw' },
    }),
    node('gw', {
      connection_type: 'ssh',
      connection_options: { ssh_host: 'g', ssh_user: 'u', ssh_agent: true },
    }),
  ];

  it('reports a host naming no node as an error at the host entry', () => {
    const text = '{"policy": {"hosts": ["db1",\n   "db9"]}, "command": ["x"]}';
    const problems = crossCheck([job('a', text)], nodes);
    expect(problems).to.deep.equal([
      {
        file: 'jobs.d/a.json',
        line: 2,
        column: 4,
        path: '$.policy.hosts[1]',
        severity: 'error',
        message: '"policy.hosts" names "db9", but no node "db9" exists; add nodes.d/db9.json or fix the name',
      },
    ]);
  });

  it('warns about a role no node has, at the role entry', () => {
    const text = '{"policy": {"roles": ["db", "cache"]}, "command": ["x"]}';
    const problems = crossCheck(new Map([['b', job('b', text)]]), new Map(nodes.map((n) => [n.name, n])));
    expect(problems).to.have.length(1);
    expect(problems[0]).to.deep.include({
      severity: 'warning',
      line: 1,
      column: text.indexOf('"cache"') + 1,
      path: '$.policy.roles[1]',
    });
    expect(problems[0]!.message).to.contain('no node has role "cache"');
  });

  it('reports an ssh_jump naming no node, or no ssh node, or a loop', () => {
    const missing = node('m', {
      connection_type: 'ssh',
      connection_options: { ssh_host: 'm', ssh_user: 'u', ssh_agent: true, ssh_jump: 'nope' },
    });
    const toLocal = node('l', {
      connection_type: 'ssh',
      connection_options: { ssh_host: 'l', ssh_user: 'u', ssh_agent: true, ssh_jump: 'db1' },
    });
    const loopA = node('la', {
      connection_type: 'ssh',
      connection_options: { ssh_host: 'a', ssh_user: 'u', ssh_agent: true, ssh_jump: 'lb' },
    });
    const loopB = node('lb', {
      connection_type: 'ssh',
      connection_options: { ssh_host: 'b', ssh_user: 'u', ssh_agent: true, ssh_jump: 'la' },
    });
    const messages = crossCheck([], [...nodes, missing, toLocal, loopA, loopB]).map(
      (p) => `${p.file} ${p.path} ${p.message}`,
    );
    expect(messages).to.deep.equal([
      'nodes.d/m.json $.connection_options.ssh_jump "ssh_jump" names "nope", but no node "nope" exists',
      'nodes.d/l.json $.connection_options.ssh_jump "ssh_jump" names "db1", which is not an ssh node',
      'nodes.d/la.json $.connection_options.ssh_jump "ssh_jump" chain loops (la → lb → la); a bastion chain must end at a node without "ssh_jump"',
      'nodes.d/lb.json $.connection_options.ssh_jump "ssh_jump" chain loops (lb → la → lb); a bastion chain must end at a node without "ssh_jump"',
    ]);
  });

  it('finds nothing to report in a consistent configuration', () => {
    expect(crossCheck([job('c', '{"policy": {"roles": ["web"]}, "command": ["x"]}')], nodes)).to.deep.equal(
      [],
    );
  });
});
