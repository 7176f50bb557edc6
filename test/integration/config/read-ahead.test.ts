import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_CONFIG_FILE_BYTES } from '../../../src/config/index.js';
import { readAll, readFresh } from '../../../src/config/load.js';
import { readAhead } from '../../../src/config/read-ahead.js';
import { scanConfigDir } from '../../../src/config/scan.js';
import { ConfigTable } from '../../../src/config/table.js';
import type { ReadFacts } from '../../../src/config/read-facts.js';
import { createHash } from 'node:crypto';
import type { ScheduleSpec } from '../../../src/core/types.js';
import { compileSchedule } from '../../../src/schedule/index.js';
import { simpleJob, TmpConfig } from './tmp-config.js';

const FIXED = Date.UTC(2026, 10, 26, 12, 0, 0);
const nextOf = (spec: ScheduleSpec, jobName: string) =>
  compileSchedule(spec, { jobName, defaultTimezone: 'UTC' }).nextAfter(FIXED);

describe('config: reading many files on a helper thread', () => {
  let cfg: TmpConfig;

  beforeEach(() => {
    cfg = new TmpConfig();
  });
  afterEach(() => cfg.remove());

  /** Every kind of file a one-thread load reports specially, between ordinary jobs. */
  function oddTree(): string[] {
    for (let i = 0; i < 1500; i++) cfg.job(`d${i % 3}/job-${i}.json`, simpleJob({ description: `job ${i}` }));
    cfg.job('d0/broken.json', '{"command": ["x"],}');
    cfg.job('d1/empty.json', '');
    cfg.job('d1/blank.json', '  \n');
    cfg.job('d2/binary.json', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80]).toString('latin1'));
    cfg.job('d2/bom.json', `\ufeff${JSON.stringify(simpleJob())}`);
    cfg.job('d2/umlaut-ä.json', JSON.stringify(simpleJob({ description: 'Grüße 🎉' })));
    writeFileSync(join(cfg.jobsDir, 'd0/huge.json'), Buffer.alloc(MAX_CONFIG_FILE_BYTES + 10, 0x20));
    writeFileSync(join(cfg.jobsDir, 'd0/exactly-the-limit.json'), exactlyTheLimit());
    execFileSync('mkfifo', [join(cfg.jobsDir, 'd1/fifo.json')]);
    symlinkSync(join(cfg.root, 'nowhere.json'), join(cfg.jobsDir, 'd1/dangling.json'));
    symlinkSync(join(cfg.jobsDir, 'd2/loop.json'), join(cfg.jobsDir, 'd2/loop.json'));
    return scanConfigDir(cfg.jobsDir, 'jobs').files;
  }

  function exactlyTheLimit(): string {
    const body = JSON.stringify(simpleJob({ description: '' }));
    const pad = MAX_CONFIG_FILE_BYTES - body.length;
    return JSON.stringify(simpleJob({ description: 'x'.repeat(pad) }));
  }

  it('loads exactly what reading on the main thread loads, odd files included', async () => {
    const files = oddTree();
    const here = new ConfigTable('UTC');
    await readAll(here, 'job', files);
    const ahead = new ConfigTable('UTC');
    await readFresh(ahead, 'job', files, 0);
    const [a, b] = [here.snapshot(), ahead.snapshot()];
    // 1500 + BOM + at the limit; the umlaut file name is refused.
    expect(b.jobs.size).to.equal(1502);
    expect([...b.jobs.entries()]).to.deep.equal([...a.jobs.entries()]);
    expect(b.problems).to.deep.equal(a.problems);
    expect(b.problems.map((p) => p.file.slice(cfg.jobsDir.length + 1))).to.include.members([
      'd0/broken.json',
      'd0/huge.json',
      'd1/empty.json',
      'd1/fifo.json',
      'd1/dangling.json',
      'd2/binary.json',
      'd2/loop.json',
      'd2/umlaut-ä.json',
    ]);
  });

  it('places a problem found after loading (a host naming no node) where it is in a file read ahead', async () => {
    const files = oddTree();
    // Multi-byte characters before the place on its line: a column counted in bytes would be off.
    const body =
      '{\n  "description": "Grüße 🎉 ✓", "policy": {"hosts": ["nope"]},\n  "command": ["/bin/true"]\n}';
    cfg.job('d0/pretty.json', body);
    files.push(join(cfg.jobsDir, 'd0/pretty.json'));
    const ahead = new ConfigTable('UTC');
    await readFresh(ahead, 'job', files, 0);
    const problem = ahead.snapshot().problems.find((p) => p.file.endsWith('pretty.json'));
    expect(problem).to.include({
      line: 2,
      column: body.split('\n')[1]!.indexOf('"nope"') + 1,
      path: '$.policy.hosts[0]',
    });
  });

  it('compiles H and fuzzy schedules of files read ahead to the same instants as read here', async () => {
    const files = oddTree();
    const schedules = ['H H * * *', 'H(0-29)/10 H * * 1-5', { fuzzy: 'daily' }, '0 H/6 * * *'];
    for (let i = 0; i < 600; i++)
      cfg.job(`d1/hashed-${i}.json`, simpleJob({ schedule: schedules[i % schedules.length] }));
    const all = scanConfigDir(cfg.jobsDir, 'jobs').files;
    const here = new ConfigTable('UTC');
    await readAll(here, 'job', all);
    const ahead = new ConfigTable('UTC');
    await readFresh(ahead, 'job', all, 0);
    const instants = (table: ConfigTable) =>
      [...table.snapshot().jobs.values()]
        .filter((job) => job.name.startsWith('hashed-'))
        .map((job) => [job.name, nextOf(job.schedule, job.name)]);
    const expected = instants(here);
    expect(expected).to.have.length(600);
    expect(new Set(expected.map(([, at]) => at)).size).to.be.greaterThan(100);
    expect(instants(ahead)).to.deep.equal(expected);
    expect(files.length).to.be.greaterThan(1500);
  });

  it('finds a duplicate key in a file read ahead, with colons and escaped quotes inside strings', async () => {
    const files = oddTree();
    cfg.job(
      'd0/dup.json',
      '{"description": "a\\":b: \\\\", "command": ["x:y"], "command": ["z"], "policy": {"hosts": ["db1"]}}',
    );
    cfg.job(
      'd0/colons.json',
      '{"description": "a\\":b:\\\\\\"c:", "command": ["x:y"], "policy": {"hosts": ["db1"]}}',
    );
    files.push(join(cfg.jobsDir, 'd0/dup.json'), join(cfg.jobsDir, 'd0/colons.json'));
    const ahead = new ConfigTable('UTC');
    await readFresh(ahead, 'job', files, 0);
    const snapshot = ahead.snapshot();
    const dup = snapshot.problems.find((p) => p.file.endsWith('dup.json'));
    expect(dup?.message).to.match(/duplicate/i);
    expect(snapshot.jobs.get('colons')?.description).to.equal('a":b:\\"c:');
  });

  it('reports per file the colons outside strings and the digest of the job name', async () => {
    const files = oddTree();
    cfg.job('d0/colons.json', '{"a\\":": "x:\\\\", "b": {"c": "\\"::"}, "d": [":"]}');
    files.push(join(cfg.jobsDir, 'd0/colons.json'));
    let facts: ReadFacts | undefined;
    await readAhead(files, (batch) => {
      for (let i = 0; i < batch.count; i++)
        if (files[batch.start + i]!.endsWith('colons.json') && batch.text(i)) facts = batch.facts?.(i);
    });
    expect(facts?.colons).to.equal(4);
    expect(facts?.nameDigest).to.equal(createHash('sha256').update('colons').digest('hex'));
  });

  it('delivers every file once, in order, in batches on separate event-loop turns', async () => {
    const files = oddTree();
    const seen: number[] = [];
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    await readAhead(files, (batch) => {
      for (let i = 0; i < batch.count; i++) seen.push(batch.start + i);
    });
    clearInterval(ticker);
    expect(seen).to.deep.equal(files.map((_, i) => i));
    expect(turns).to.be.greaterThan(0);
  });

  it('passes a failure of the batch handler on and stops delivering', async () => {
    const files = oddTree();
    let calls = 0;
    const failing = readAhead(files, () => {
      calls++;
      throw new Error('handler broke');
    });
    let error: Error | undefined;
    await failing.catch((err: Error) => (error = err));
    expect(error?.message).to.equal('handler broke');
    expect(calls).to.equal(1);
  });

  it('lists files under a root given unnormalised exactly as path.join names them', () => {
    cfg.job('a/x.json', simpleJob());
    cfg.job('b/c/y.json', simpleJob());
    const root = `${cfg.jobsDir}/./b/..//`;
    const files = scanConfigDir(root, 'jobs').files;
    expect(files).to.deep.equal([join(root, 'a', 'x.json'), join(root, 'b', 'c', 'y.json')]);
  });

  it('settles at once for no files', async () => {
    let calls = 0;
    await readAhead([], () => calls++);
    expect(calls).to.equal(0);
  });
});
