import { expect } from 'chai';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ConfigWatcher, type ConfigChangeEvent } from '../../../src/config/index.js';
import { LOCAL_NODE, simpleJob, TmpConfig } from './tmp-config.js';

/**
 * The safety rescan is pushed far out (it is clamped to 5 minutes), so a change seen within
 * this test's few seconds can only have come from a file event.
 */
const RESCAN_MS = 10 * 60_000;

function nextChange(watcher: ConfigWatcher, match: (e: ConfigChangeEvent) => boolean) {
  return new Promise<ConfigChangeEvent>((resolve) => {
    const listener = (event: ConfigChangeEvent) => {
      if (!match(event)) return;
      watcher.off('change', listener);
      resolve(event);
    };
    watcher.on('change', listener);
  });
}

describe('config: file events reach the watcher however the directory is named', function () {
  this.timeout(8_000);
  let cfg: TmpConfig;
  let watcher: ConfigWatcher | undefined;
  const cwd = process.cwd();

  beforeEach(() => {
    cfg = new TmpConfig();
    cfg.node('db1.json', LOCAL_NODE);
    cfg.job('a.json', simpleJob());
  });
  afterEach(() => {
    watcher?.close();
    process.chdir(cwd);
    cfg.remove();
  });

  async function seesNewJobVia(jobsDir: string, nodesDir: string, writeInto = cfg.jobsDir) {
    watcher = new ConfigWatcher({ jobsDir, nodesDir, defaultTimezone: 'UTC', rescanIntervalMs: RESCAN_MS });
    const first = await watcher.start();
    expect([...first.jobs.keys()]).to.deep.equal(['a']);
    const added = nextChange(watcher, (e) => e.diff.jobs.added.includes('b'));
    cfg.write(join(writeInto, 'b.json'), simpleJob());
    const event = await added;
    expect(event.snapshot.jobs.get('b')?.name).to.equal('b');
    // An edit inside a subdirectory created after start-up is seen too.
    const nested = nextChange(watcher, (e) => e.diff.jobs.added.includes('c'));
    mkdirSync(join(writeInto, 'team'));
    cfg.write(join(writeInto, 'team', 'c.json'), simpleJob());
    await nested;
  }

  it('"./jobs.d" relative to the working directory (npm start)', async () => {
    process.chdir(cfg.root);
    await seesNewJobVia('./jobs.d', './nodes.d');
  });

  it('a relative path without "./", and one climbing with ".."', async () => {
    process.chdir(cfg.nodesDir);
    await seesNewJobVia('../jobs.d', relative(cfg.nodesDir, cfg.nodesDir) || '.');
  });

  it('a trailing slash', async () => {
    await seesNewJobVia(`${cfg.jobsDir}/`, `${cfg.nodesDir}//`);
  });

  it('a symlink to the directory', async () => {
    const link = join(cfg.root, 'jobs-link');
    symlinkSync(cfg.jobsDir, link);
    await seesNewJobVia(link, cfg.nodesDir);
  });

  it('a symlink, given relative with a trailing slash', async () => {
    symlinkSync('jobs.d', join(cfg.root, 'jobs-link'));
    process.chdir(cfg.root);
    await seesNewJobVia('./jobs-link/', 'nodes.d');
  });

  it('file names and problems keep naming files under the directory as given', async () => {
    process.chdir(cfg.root);
    watcher = new ConfigWatcher({
      jobsDir: './jobs.d',
      nodesDir: './nodes.d',
      defaultTimezone: 'UTC',
      rescanIntervalMs: RESCAN_MS,
    });
    await watcher.start();
    const broken = nextChange(watcher, (e) => e.snapshot.problems.length > 0);
    cfg.job('bad.json', '{ nope');
    const event = await broken;
    expect(event.snapshot.problems[0]!.file).to.equal(join(cfg.jobsDir, 'bad.json'));
  });
});
