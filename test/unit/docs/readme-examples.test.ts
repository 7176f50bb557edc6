import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { parseJobText, parseNodeText } from '../../../src/config/index.js';
import { parseResourceText } from '../../../src/config/parse-resources.js';

/** Every ```json block of the README, with the line it starts on. */
function jsonExamples(file: string): { line: number; text: string }[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: { line: number; text: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```json') continue;
    const end = lines.indexOf('```', i + 1);
    blocks.push({ line: i + 1, text: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

function kindOf(value: unknown): 'node' | 'job' | 'pool' | 'unknown' {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'unknown';
  if ('connection_type' in value) return 'node';
  if ('capacity' in value || 'per_minute' in value) return 'pool';
  if ('command' in value || 'shell_command' in value || 'script' in value || 'script_inline' in value)
    return 'job';
  return 'unknown';
}

/** The JSON values in the example column of the README's schedule table. */
function scheduleExamples(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const table = text.slice(text.indexOf('### Schedules'), text.indexOf('Daylight saving time'));
  const rows = table.split('\n').filter((row) => row.startsWith('|'));
  return rows.flatMap((row) => [...(row.split('|')[2] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
}

describe('README: every JSON example loads as written', () => {
  const examples = jsonExamples('README.md');

  it('has examples to check', () => {
    expect(examples.length).to.be.greaterThan(1);
  });

  let jobsDir = '';
  before(() => {
    jobsDir = join(mkdtempSync(join(tmpdir(), 'distcron-readme-')), 'jobs.d');
    mkdirSync(join(jobsDir, 'scripts'), { recursive: true });
    writeFileSync(join(jobsDir, 'scripts', 'rotate.sh'), '#!/bin/sh\necho rotate "$@"\n');
  });
  after(() => rmSync(dirname(jobsDir), { recursive: true, force: true }));

  for (const { line, text } of examples) {
    it(`the example at README.md:${line} parses without problems`, () => {
      const kind = kindOf(JSON.parse(text));
      expect(kind, 'a node or job example (teach this test the new kind)').to.not.equal('unknown');
      const parse = kind === 'node' ? parseNodeText : kind === 'pool' ? parseResourceText : parseJobText;
      // A job file lives in jobs.d, next to the scripts/ its "script" examples name.
      const file = kind === 'node' ? `README.md:${line}.json` : join(jobsDir, `readme-${line}.json`);
      const { problems } = parse(file, text, { defaultTimezone: 'UTC' });
      expect(problems.filter((p) => p.severity === 'error')).to.deep.equal([]);
    });
  }
});

describe('README: every schedule example loads as written', () => {
  const examples = scheduleExamples('README.md');

  it('has examples to check', () => {
    expect(examples.length).to.be.greaterThan(5);
  });

  for (const example of examples) {
    it(`the schedule ${example} parses without problems`, () => {
      const text = JSON.stringify({
        policy: { hosts: ['local'] },
        schedule: JSON.parse(example),
        command: ['true'],
      });
      const { problems } = parseJobText('jobs.d/example.json', text, { defaultTimezone: 'UTC' });
      expect(problems.filter((p) => p.severity === 'error')).to.deep.equal([]);
    });
  }
});
