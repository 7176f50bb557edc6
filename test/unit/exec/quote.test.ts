import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { CommandSpec } from '../../../src/core/types.js';
import { buildRemoteCommand, shellQuote } from '../../../src/exec/quote.js';

/** Runs a command line the way a remote POSIX shell would: `/bin/sh -c LINE`. */
function sh(line: string, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync('/bin/sh', ['-c', line], { encoding: 'utf8', ...options });
}

/** argv that makes the shell print every following word NUL-terminated. */
const PRINT_WORDS = ['printf', '%s\\0'];

function wordsBack(output: string): string[] {
  return output.split('\0').slice(0, -1);
}

const argv = (...words: string[]): CommandSpec => ({ kind: 'argv', argv: words });

const HOSTILE = [
  "it's",
  'say "hi"',
  '$(touch /tmp/distcron-quote-pwned)',
  '`touch /tmp/distcron-quote-pwned`',
  'a; echo injected',
  'a && echo injected | cat',
  'line1\nline2',
  'tab\there',
  'üñíçødé 漢字 🚀',
  '',
  ' ',
  "'",
  '"',
  '\\',
  '$HOME ${HOME} $1 $@',
  '*',
  '~',
  '!',
  '-n',
  '--',
  'a=b',
  '#comment',
  '> /tmp/distcron-quote-pwned',
];

describe('shellQuote and buildRemoteCommand', () => {
  let dir: string;
  before(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'distcron-quote-')));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => expect(existsSync('/tmp/distcron-quote-pwned')).to.equal(false));

  it('leaves plain words alone and quotes everything else', () => {
    expect(shellQuote('abc-1.2/x_y')).to.equal('abc-1.2/x_y');
    expect(shellQuote('')).to.equal("''");
    expect(shellQuote("it's")).to.equal(`'it'\\''s'`);
    expect(shellQuote('a b')).to.equal("'a b'");
  });

  it('delivers hostile words intact through a real /bin/sh -c', () => {
    const line = buildRemoteCommand(argv(...PRINT_WORDS, ...HOSTILE), {});
    expect(wordsBack(sh(line))).to.deep.equal(HOSTILE);
  });

  it('delivers any unicode words intact through a real /bin/sh -c', () => {
    const word = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((w) => !w.includes('\0'));
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 6 }), (words) => {
        expect(wordsBack(sh(buildRemoteCommand(argv(...PRINT_WORDS, ...words), {})))).to.deep.equal(words);
      }),
      { numRuns: 60 },
    );
  });

  it('passes hostile environment values inline, intact', () => {
    const env = { V1: HOSTILE[2]!, V2: 'line1\nline2', V3: 'it\'s "quoted"', V4: '' };
    const script = 'printf "%s\\0" "$V1" "$V2" "$V3" "$V4"';
    const line = buildRemoteCommand(argv('/bin/sh', '-c', script), env);
    expect(wordsBack(sh(line))).to.deep.equal(Object.values(env));
  });

  it('runs a shell command through /bin/sh -c with its own quoting intact', () => {
    const script = `echo "$GREETING" | tr a-z A-Z; printf '%s\\n' 'it'"'"'s'`;
    const line = buildRemoteCommand({ kind: 'shell', script }, { GREETING: 'hello $(world)' });
    expect(sh(line)).to.equal("HELLO $(WORLD)\nit's\n");
  });

  it('changes to a working directory with hostile characters in its name', () => {
    const target = join(dir, "-odd dir 'with' $(quotes)");
    mkdirSync(target);
    expect(sh(buildRemoteCommand(argv('pwd'), {}, target))).to.equal(`${target}\n`);
  });

  it('changes to a relative working directory without consulting CDPATH or reading it as an option', () => {
    mkdirSync(join(dir, 'base', '-sub'), { recursive: true });
    mkdirSync(join(dir, 'elsewhere', '-sub'), { recursive: true });
    const line = buildRemoteCommand(argv('pwd'), {}, '-sub');
    const out = sh(line, { cwd: join(dir, 'base'), env: { ...process.env, CDPATH: join(dir, 'elsewhere') } });
    expect(out).to.equal(`${join(dir, 'base', '-sub')}\n`);
  });

  it('runs a program whose name contains "=" instead of taking it for an assignment', () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'A=b'), '#!/bin/sh\necho "ran with $1 $X"\n');
    chmodSync(join(bin, 'A=b'), 0o755);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    expect(sh(buildRemoteCommand(argv('A=b', 'arg'), {}), { env })).to.equal('ran with arg \n');
    expect(sh(buildRemoteCommand(argv('A=b', 'arg'), { X: 'x' }), { env })).to.equal('ran with arg x\n');
    expect(sh(buildRemoteCommand(argv(join(bin, 'A=b'), 'p'), { X: 'y' }))).to.equal('ran with p y\n');
  });

  it('rejects an environment variable name the shell could not assign', () => {
    expect(() => buildRemoteCommand(argv('true'), { 'A B': 'x' })).to.throw(
      /exec: invalid environment variable name/,
    );
    expect(() => buildRemoteCommand(argv('true'), { 'X=$(id)': 'x' })).to.throw(/invalid environment/);
  });
});
