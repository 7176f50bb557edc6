import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../../src/config/index.js';
import { LOCAL_NODE, simpleJob, TmpConfig } from './tmp-config.js';

describe('config: loading jobs.d and nodes.d from disk', () => {
  let cfg: TmpConfig;
  const load = () => loadConfig({ jobsDir: cfg.jobsDir, nodesDir: cfg.nodesDir, defaultTimezone: 'UTC' });
  const problemsOf = async (file: string) => (await load()).problems.filter((p) => p.file === file);

  beforeEach(() => {
    cfg = new TmpConfig();
    cfg.node('db1.json', LOCAL_NODE);
  });
  afterEach(() => cfg.remove());

  it('reads directories recursively and names each definition after its file', async () => {
    const file = cfg.job('team/nightly/backup.json', simpleJob());
    cfg.node('fra/web1.json', { roles: ['web'], connection_type: 'local' });
    const snapshot = await load();
    expect([...snapshot.jobs.keys()]).to.deep.equal(['backup']);
    expect([...snapshot.nodes.keys()].sort()).to.deep.equal(['db1', 'web1']);
    expect(snapshot.jobs.get('backup')!.file).to.equal(resolve(file));
    expect(snapshot.problems).to.deep.equal([]);
  });

  it('ignores dotfiles, editor backups, non-.json files and dot-directories', async () => {
    cfg.job('.hidden.json', '{');
    cfg.job('backup.json~', '{');
    cfg.job('.backup.json.swp', '{');
    cfg.job('README.md', '# notes');
    cfg.job('.git/config.json', '{');
    const snapshot = await load();
    expect(snapshot.jobs.size).to.equal(0);
    expect(snapshot.problems).to.deep.equal([]);
  });

  it('reports two files giving the same name, naming both, and keeps the first', async () => {
    cfg.job('a/x.json', simpleJob({ description: 'first' }));
    const second = cfg.job('b/x.json', simpleJob({ description: 'second' }));
    const snapshot = await load();
    expect(snapshot.jobs.get('x')!.description).to.equal('first');
    expect(snapshot.problems).to.have.length(1);
    expect(snapshot.problems[0]!.file).to.equal(second);
    expect(snapshot.problems[0]!.message)
      .to.contain(join(cfg.jobsDir, 'a/x.json'))
      .and.contain('duplicate job name "x"');
  });

  it('reports a file name that is not a valid job name', async () => {
    const file = cfg.job('my job.json', simpleJob());
    const [problem] = await problemsOf(file);
    expect(problem!.message).to.contain('invalid file name');
  });

  it('reports a host that names no node at the host entry of the job file', async () => {
    const file = cfg.job('x.json', '{"policy": {"hosts": ["db1", "db9"]},\n "command": ["x"]}');
    const snapshot = await load();
    expect(snapshot.jobs.has('x'), 'the job still loads').to.equal(true);
    expect(snapshot.problems).to.deep.equal([
      {
        file,
        line: 1,
        column: 30,
        path: '$.policy.hosts[1]',
        severity: 'error',
        message: '"policy.hosts" names "db9", but no node "db9" exists; add nodes.d/db9.json or fix the name',
      },
    ]);
  });

  // Tests run as root, so chmod 000 does not make a file unreadable. Files that cannot be
  // opened or read are made instead: a FIFO (would block a naive reader forever), a dangling
  // symlink, a symlink pointing at itself.
  it('reports a FIFO named like a job without blocking on it', async () => {
    const fifo = join(cfg.jobsDir, 'pipe.json');
    execFileSync('mkfifo', [fifo]);
    const [problem] = await problemsOf(fifo);
    expect(problem!.message).to.contain('not a regular file');
  });

  it('reports a dangling symlink and a symlink loop', async () => {
    const dangling = join(cfg.jobsDir, 'dangling.json');
    symlinkSync(join(cfg.root, 'nowhere.json'), dangling);
    const looping = join(cfg.jobsDir, 'loop.json');
    symlinkSync(looping, looping);
    expect((await problemsOf(dangling))[0]!.message).to.contain('does not exist');
    expect((await problemsOf(looping))[0]!.message).to.contain('symlink loop');
  });

  it('follows a symlinked directory once and warns about a directory loop', async () => {
    cfg.job('team/a.json', simpleJob());
    symlinkSync('..', join(cfg.jobsDir, 'team', 'up'));
    const snapshot = await load();
    expect([...snapshot.jobs.keys()]).to.deep.equal(['a']);
    expect(snapshot.problems.map((p) => [p.severity, p.file])).to.deep.equal([
      ['warning', join(cfg.jobsDir, 'team', 'up')],
    ]);
  });

  it('treats a directory named x.json as a directory', async () => {
    cfg.job('x.json/inner.json', simpleJob());
    expect([...(await load()).jobs.keys()]).to.deep.equal(['inner']);
  });

  it('reports binary junk as invalid JSON at 1:1', async () => {
    const file = join(cfg.jobsDir, 'junk.json');
    writeFileSync(file, Buffer.from([0x00, 0xff, 0xfe, 0x01, 0x80, 0x7f]));
    const [problem] = await problemsOf(file);
    expect(problem).to.deep.include({ line: 1, column: 1 });
    expect(problem!.message).to.contain('invalid JSON');
  });

  it('refuses a 10 MB file with a clear message, unread', async () => {
    const file = cfg.job('huge.json', `{"description": "${'x'.repeat(10 * 1024 * 1024)}"}`);
    const [problem] = await problemsOf(file);
    expect(problem!.message).to.contain('larger than 1048576 bytes');
  });

  it('survives 100,000 levels of nesting', async () => {
    const file = cfg.job('deep.json', '['.repeat(100_000) + ']'.repeat(100_000));
    const [problem] = await problemsOf(file);
    expect(problem!.message).to.contain('nested deeper than');
  });

  it('reports missing directories instead of throwing', async () => {
    const snapshot = await loadConfig({
      jobsDir: join(cfg.root, 'nope'),
      nodesDir: cfg.nodesDir,
      defaultTimezone: 'UTC',
    });
    expect(snapshot.nodes.size).to.equal(1);
    expect(snapshot.problems[0]!.message).to.contain('jobs directory').and.contain('does not exist');
  });
});
