import { expect } from 'chai';
import fc from 'fast-check';
import { parseJobText, parseNodeText } from '../../../src/config/index.js';
import type { ConfigProblem } from '../../../src/core/types.js';

const JOB_KEYS = [
  'policy',
  'schedule',
  'command',
  'shell_command',
  'environment',
  'timeout',
  'retries',
  'notify',
  'owners',
];
const NODE_KEYS = ['roles', 'connection_type', 'connection_options', 'labels', 'max_concurrent_runs'];

function expectWellFormed(text: string, problems: ConfigProblem[]): void {
  const lines = text.split('\n');
  for (const p of problems) {
    expect(p.line).to.be.within(1, lines.length);
    expect(p.column).to.be.within(1, (lines[p.line - 1]?.length ?? 0) + 1);
    expect(p.path).to.match(/^\$/);
    expect(p.message).to.be.a('string').and.not.equal('');
  }
}

/** Objects shaped like definitions, with arbitrary values under the real keys. */
const shaped = (keys: string[]) =>
  fc.dictionary(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });

describe('config: parsing arbitrary input', () => {
  it('never throws on arbitrary text, and places every problem inside the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const job = parseJobText('jobs.d/f.json', text, { defaultTimezone: 'UTC' });
        const node = parseNodeText('nodes.d/f.json', text);
        expect(job.job === undefined || job.problems.every((p) => p.severity === 'warning')).to.equal(true);
        expectWellFormed(text, job.problems);
        expectWellFormed(text, node.problems);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on definition-shaped JSON, and either loads or says why', () => {
    fc.assert(
      fc.property(shaped(JOB_KEYS), shaped(NODE_KEYS), (jobBody, nodeBody) => {
        const jobText = JSON.stringify(jobBody, null, 2);
        const job = parseJobText('jobs.d/f.json', jobText, { defaultTimezone: 'UTC' });
        expect(job.job !== undefined || job.problems.some((p) => p.severity === 'error')).to.equal(true);
        expectWellFormed(jobText, job.problems);
        const nodeText = JSON.stringify(nodeBody);
        const node = parseNodeText('nodes.d/f.json', nodeText);
        expect(node.node !== undefined || node.problems.some((p) => p.severity === 'error')).to.equal(true);
        expectWellFormed(nodeText, node.problems);
      }),
      { numRuns: 500 },
    );
  });
});
