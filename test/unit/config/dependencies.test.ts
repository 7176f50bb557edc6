import { expect } from 'chai';
import { parseJobText } from '../../../src/config/index.js';
import { ConfigTable } from '../../../src/config/table.js';

const OPTS = { defaultTimezone: 'UTC' };

const POLICY = { policy: { hosts: ['local'] } };

function parse(text: object) {
  return parseJobText('jobs.d/child.json', JSON.stringify({ ...POLICY, ...text }, null, 2), OPTS);
}

function jobText(after?: object[]): string {
  return JSON.stringify({ ...POLICY, shell_command: 'true', ...(after ? { after } : {}) }, null, 2);
}

/** Jobs on the node "local", which the table has (no cross-file problem but the dependencies). */
function table(files: Record<string, string>): ConfigTable {
  const t = new ConfigTable('UTC');
  t.update('node', 'nodes.d/local.json', { ok: true, text: '{"connection_type": "local"}' });
  for (const [name, text] of Object.entries(files))
    t.update('job', `jobs.d/${name}.json`, { ok: true, text });
  return t;
}

describe('config: job dependencies ("after")', () => {
  it('reads parents with their defaults: on success, all hosts, a 24h window', () => {
    const { job, problems } = parse({ shell_command: 'true', after: [{ job: 'backup' }] });
    expect(problems).to.deep.equal([]);
    expect(job?.after).to.deep.equal({
      parents: [{ job: 'backup', on: 'success', hosts: 'all' }],
      windowMs: 24 * 3_600_000,
    });
  });

  it('reads every field and the window', () => {
    const { job } = parse({
      shell_command: 'true',
      after: [
        { job: 'dump', on: 'failure', hosts: 'any' },
        { job: 'vacuum', on: 'done' },
      ],
      window: '2h',
    });
    expect(job?.after?.parents).to.deep.equal([
      { job: 'dump', on: 'failure', hosts: 'any' },
      { job: 'vacuum', on: 'done', hosts: 'all' },
    ]);
    expect(job?.after?.windowMs).to.equal(7_200_000);
  });

  it('leaves a job without "after" with no dependencies, as before', () => {
    expect(parse({ shell_command: 'true' }).job?.after).to.equal(undefined);
  });

  it('locates a bad "on", an unknown field, a missing job name and a duplicate parent', () => {
    const { job, problems } = parse({
      shell_command: 'true',
      after: [{ job: 'a', on: 'succes' }, { jbo: 'b' }, { job: 'c' }, { job: 'c' }],
    });
    expect(job).to.equal(undefined);
    const paths = problems.map((p) => p.path);
    expect(paths).to.include.members(['$.after[0].on', '$.after[1].jbo', '$.after[1]', '$.after[3]']);
    expect(problems.find((p) => p.path === '$.after[0].on')?.message).to.contain('did you mean "success"');
  });

  it('needs a default for a required parameter of a job that only runs after others', () => {
    const { problems } = parse({
      shell_command: 'true',
      after: [{ job: 'a' }],
      parameters: { TARGET: { required: true } },
    });
    expect(problems.map((p) => p.message).join()).to.contain('is required and has no "default"');
  });

  it('reports an unknown parent at its entry, and does not load a new job with one', () => {
    const text = jobText([{ job: 'nope' }]);
    const { jobs, problems } = table({ c: text, other: jobText() }).snapshot();
    expect(problems).to.have.length(1);
    expect(problems[0]).to.deep.include({ file: 'jobs.d/c.json', path: '$.after[0].job', severity: 'error' });
    expect(problems[0]!.message).to.contain('no job "nope" exists');
    expect(problems[0]!.line).to.equal(text.split('\n').findIndex((l) => l.includes('"nope"')) + 1);
    expect([...jobs.keys()]).to.deep.equal(['other']);
  });

  it('reports a job that runs after itself', () => {
    const { jobs, problems } = table({ self: jobText([{ job: 'self' }]) }).snapshot();
    expect(problems.map((p) => [p.file, p.path])).to.deep.equal([['jobs.d/self.json', '$.after[0].job']]);
    expect(problems[0]!.message).to.contain('cannot run after itself');
    expect(jobs.has('self')).to.equal(false);
  });

  it('gives every job of a three-job cycle the error, and loads everything else', () => {
    const { jobs, problems } = table({
      a: jobText([{ job: 'c' }]),
      b: jobText([{ job: 'a' }]),
      c: jobText([{ job: 'b' }]),
      d: jobText([{ job: 'x' }, { job: 'a' }].slice(1)),
      x: jobText(),
    }).snapshot();
    expect(problems.map((p) => p.file)).to.deep.equal(['jobs.d/a.json', 'jobs.d/b.json', 'jobs.d/c.json']);
    for (const p of problems) {
      expect(p.path).to.equal('$.after[0].job');
      expect(p.message).to.contain('forms a cycle (a after c after b after a)');
    }
    // d depends on a, which is held back: d waits for a parent that is not loaded (reported nowhere else).
    expect([...jobs.keys()].sort()).to.deep.equal(['d', 'x']);
  });

  it('keeps the last good version of a job whose edit closes a cycle', () => {
    const t = table({ a: jobText(), b: jobText([{ job: 'a' }]), c: jobText([{ job: 'b' }]) });
    const before = t.snapshot().jobs.get('a');
    t.update('job', 'jobs.d/a.json', { ok: true, text: jobText([{ job: 'c' }]) });
    const { jobs, problems } = t.snapshot();
    expect(problems).to.have.length(3);
    expect(jobs.get('a')).to.equal(before);
    expect(jobs.get('a')?.after).to.equal(undefined);
    expect(jobs.has('b') && jobs.has('c')).to.equal(true);
    // Still reported (and still held back) on the next change of another file.
    t.update('job', 'jobs.d/z.json', { ok: true, text: jobText() });
    const later = t.snapshot();
    expect(later.problems).to.have.length(3);
    expect(later.jobs.get('a')).to.equal(before);
    // Fixed: the new version becomes active.
    t.update('job', 'jobs.d/a.json', { ok: true, text: jobText([{ job: 'z' }]) });
    const fixed = t.snapshot();
    expect(fixed.problems).to.deep.equal([]);
    expect(fixed.jobs.get('a')?.after?.parents[0]?.job).to.equal('z');
  });

  it('keeps an unchanged child loaded (and reported) when its parent is deleted', () => {
    const t = table({ a: jobText(), b: jobText([{ job: 'a' }]) });
    expect(t.snapshot().problems).to.deep.equal([]);
    t.remove('job', 'jobs.d/a.json');
    const { jobs, problems } = t.snapshot();
    expect(jobs.has('b')).to.equal(true);
    expect(problems.map((p) => [p.file, p.path])).to.deep.equal([['jobs.d/b.json', '$.after[0].job']]);
  });
});
