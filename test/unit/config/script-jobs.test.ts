import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseJobText } from '../../../src/config/index.js';
import type { JobDef } from '../../../src/core/types.js';
import { stdinProgramWords } from '../../../src/exec/script.js';
import { marked } from './marked.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('job files: script, script_inline, interpreter, args, script_delivery, run_as', () => {
  let dir: string;
  let jobFile: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'distcron-script-cfg-'));
    mkdirSync(join(dir, 'jobs.d', 'scripts'), { recursive: true });
    jobFile = join(dir, 'jobs.d', 'job.json');
    writeFileSync(join(dir, 'jobs.d', 'scripts', 'rotate.sh'), '#!/bin/bash -e\necho rotate\n');
    writeFileSync(join(dir, 'jobs.d', 'scripts', 'plain.txt'), 'echo no shebang\n');
    writeFileSync(join(dir, 'jobs.d', 'scripts', 'tcl.tcl'), '#!/usr/bin/env tclsh\nputs hi\n');
    writeFileSync(join(dir, 'jobs.d', 'scripts', 'big.sh'), Buffer.alloc(1024 * 1024 + 1, 0x23));
    writeFileSync(join(dir, 'jobs.d', 'scripts', 'binary.sh'), Buffer.from([0xff, 0xfe, 0x0a]));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const parse = (fields: string) =>
    parseJobText(jobFile, `{"policy": {"hosts": ["db1"]}, ${fields}}`, { defaultTimezone: 'UTC' });
  const command = (fields: string): JobDef['command'] => {
    const { job, problems } = parse(fields);
    expect(problems, JSON.stringify(problems)).to.deep.equal([]);
    return job!.command;
  };

  it('reads a script file relative to the job file, with the interpreter from its shebang and its sha256', () => {
    const c = command('"script": "scripts/rotate.sh", "args": ["--days", ""]');
    expect(c).to.deep.include({
      kind: 'script',
      source: 'scripts/rotate.sh',
      sha256: sha256('#!/bin/bash -e\necho rotate\n'),
      interpreter: ['/bin/bash', '-e'],
      args: ['--days', ''],
      delivery: 'stdin',
    });
    expect(c.kind === 'script' && c.content.toString()).to.equal('#!/bin/bash -e\necho rotate\n');
  });

  it('hashes the exact bytes of a file that is not UTF-8', () => {
    const c = command('"script": "scripts/binary.sh"');
    expect(c.kind === 'script' && c.sha256).to.equal(sha256(Buffer.from([0xff, 0xfe, 0x0a])));
  });

  it('defaults to /bin/sh without a shebang, and takes "interpreter" as a string or an argv', () => {
    expect(command('"script": "scripts/plain.txt"')).to.deep.include({ interpreter: ['/bin/sh'] });
    expect(command('"script_inline": "print(1)", "interpreter": "python3"')).to.deep.include({
      source: 'inline',
      interpreter: ['python3'],
      sha256: sha256('print(1)'),
    });
    expect(
      command('"script_inline": "x", "interpreter": ["/usr/bin/env", "-S", "perl", "-w"]'),
    ).to.deep.include({
      interpreter: ['/usr/bin/env', '-S', 'perl', '-w'],
    });
  });

  it('accepts any interpreter with "script_delivery": "upload"', () => {
    expect(command('"script": "scripts/tcl.tcl", "script_delivery": "upload"')).to.deep.include({
      delivery: 'upload',
      interpreter: ['/usr/bin/env', 'tclsh'],
    });
  });

  it('puts run_as on every kind of command', () => {
    expect(command('"command": ["/bin/true"], "run_as": "postgres"')).to.deep.equal({
      kind: 'argv',
      argv: ['/bin/true'],
      runAs: 'postgres',
    });
    expect(command('"script_inline": "id", "run_as": "www-data"')).to.deep.include({ runAs: 'www-data' });
  });

  it('feeds stdin to sh-like shells with "-s --" and to python, perl, ruby and node with "-"', () => {
    expect(stdinProgramWords(['/bin/sh'])).to.deep.equal(['-s', '--']);
    expect(stdinProgramWords(['bash'])).to.deep.equal(['-s', '--']);
    expect(stdinProgramWords(['/usr/bin/env', 'python3'])).to.deep.equal(['-']);
    expect(stdinProgramWords(['/usr/bin/env', '-S perl -w'])).to.deep.equal(['-']);
    expect(stdinProgramWords(['awk'])).to.equal(undefined);
  });

  const BAD: { what: string; fields: string; path: string; message: RegExp }[] = [
    {
      what: 'a missing script file',
      fields: '"script": ⟪"scripts/nope.sh"',
      path: '$.script',
      message:
        /^script file scripts\/nope\.sh \(\/.*\/jobs\.d\/scripts\/nope\.sh\): does not exist; create it or fix "script"; paths are relative to the job file's directory$/,
    },
    {
      what: 'a script file over 1 MiB',
      fields: '"script": ⟪"scripts/big.sh"',
      path: '$.script',
      message: /^script file scripts\/big\.sh .*: is 1048577 bytes, over the 1 MiB limit/,
    },
    {
      what: 'a script that is a directory',
      fields: '"script": ⟪"scripts"',
      path: '$.script',
      message: /is a directory, not a file/,
    },
    {
      what: 'an inline script over 1 MiB',
      fields: `"script_inline": ⟪"${'x'.repeat(1024 * 1024 + 1)}"`,
      path: '$.script_inline',
      message: /^"script_inline" is 1048577 bytes, over the 1 MiB limit/,
    },
    {
      what: 'both a command and a script',
      fields: '"command": ["x"], ⟪"script": "scripts/rotate.sh"',
      path: '$.script',
      message: /^give exactly one of .* not "command" and "script"$/,
    },
    {
      what: 'args without a script',
      fields: '"command": ["x"], ⟪"args": ["a"]',
      path: '$.args',
      message: /^"args" applies only to a "script" or "script_inline" job/,
    },
    {
      what: 'an interpreter that cannot read a script from stdin',
      fields: '"script_inline": "BEGIN{}", "interpreter": ⟪"awk"',
      path: '$.interpreter',
      message:
        /^interpreter awk has no known way to read a script from stdin .* set "script_delivery": "upload"/,
    },
    {
      what: 'a shebang interpreter that cannot read a script from stdin',
      fields: '"script": ⟪"scripts/tcl.tcl"',
      path: '$.script',
      message: /^interpreter tclsh \(from the shebang line\) has no known way/,
    },
    {
      what: 'an unknown delivery',
      fields: '"script_inline": "id", "script_delivery": ⟪"scp"',
      path: '$.script_delivery',
      message: /"stdin"|"upload"/,
    },
    {
      what: 'an invalid run_as user name',
      fields: '"command": ["id"], "run_as": ⟪"-root"',
      path: '$.run_as',
      message: /^"run_as" "-root" is not a valid user name/,
    },
    {
      what: 'a run_as user name with a space',
      fields: '"command": ["id"], "run_as": ⟪"pg admin"',
      path: '$.run_as',
      message: /is not a valid user name/,
    },
    {
      what: 'run_as with an uploaded script',
      fields: '"script_inline": "id", "script_delivery": "upload", "run_as": ⟪"postgres"',
      path: '$.run_as',
      message: /not supported yet/,
    },
  ];

  for (const c of BAD) {
    it(`reports ${c.what} with the file, the JSON path and what to do, and loads no job`, () => {
      const { text, line, column } = marked(`{"policy": {"hosts": ["db1"]}, ${c.fields}}`);
      const { job, problems } = parseJobText(jobFile, text, { defaultTimezone: 'UTC' });
      expect(job).to.equal(undefined);
      const hit = problems.find((p) => c.message.test(p.message));
      expect(hit, JSON.stringify(problems).slice(0, 2000)).to.not.equal(undefined);
      expect(hit).to.deep.include({ file: jobFile, path: c.path, line, column, severity: 'error' });
    });
  }
});
