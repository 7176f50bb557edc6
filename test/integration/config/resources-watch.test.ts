import { expect } from 'chai';
import { mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigWatcher, type ConfigChangeEvent } from '../../../src/config/index.js';
import { LOCAL_NODE, simpleJob, TmpConfig } from './tmp-config.js';

const EVENT_TIMEOUT_MS = 5_000;

function nextChange(
  watcher: ConfigWatcher,
  match: (e: ConfigChangeEvent) => boolean,
): Promise<ConfigChangeEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no matching change event')), EVENT_TIMEOUT_MS);
    const listener = (event: ConfigChangeEvent) => {
      if (!match(event)) return;
      clearTimeout(timer);
      watcher.off('change', listener);
      resolve(event);
    };
    watcher.on('change', listener);
  });
}

describe('config: watching resources.d', () => {
  let cfg: TmpConfig;
  let watcher: ConfigWatcher;
  let resourcesDir: string;

  beforeEach(() => {
    cfg = new TmpConfig();
    resourcesDir = join(cfg.root, 'resources.d');
    cfg.node('db1.json', LOCAL_NODE);
    cfg.job('dump.json', simpleJob({ resources: { 'db-conn': 1 } }));
  });
  afterEach(() => {
    watcher?.close();
    cfg.remove();
  });

  function start(rescanIntervalMs = 5_000) {
    watcher = new ConfigWatcher({
      jobsDir: cfg.jobsDir,
      nodesDir: cfg.nodesDir,
      resourcesDir,
      defaultTimezone: 'UTC',
      debounceMs: 20,
      rescanIntervalMs,
    });
    return watcher.start();
  }

  it('takes a missing resources.d as no pools, and picks it up once it is created', async () => {
    const first = await start(50);
    expect(first.resources.size).to.equal(0);
    expect(first.problems.map((p) => p.path)).to.deep.equal(['$.resources["db-conn"]']);

    const added = nextChange(watcher, (e) => e.snapshot.resources.has('db-conn'));
    mkdirSync(resourcesDir);
    cfg.write(join(resourcesDir, 'db-conn.json'), { capacity: 2 });
    const { snapshot } = await added;
    expect(snapshot.resources.get('db-conn')!.capacity).to.equal(2);
    expect(snapshot.problems, 'the job is fine now').to.deep.equal([]);
  });

  it('hot-reloads a pool, keeps the last good version while the file is broken, and forgets a removed pool', async () => {
    const file = cfg.write(join(resourcesDir, 'db-conn.json'), { capacity: 1 });
    expect((await start()).resources.get('db-conn')!.capacity).to.equal(1);

    const edited = nextChange(watcher, (e) => e.snapshot.resources.get('db-conn')!.capacity === 3);
    cfg.write(file, { capacity: 3, per_minute: 10 });
    expect((await edited).diff.resources!.changed).to.deep.equal(['db-conn']);

    const broken = nextChange(watcher, (e) => e.snapshot.problems.length > 0);
    cfg.write(file, { capacity: -1 });
    const bad = (await broken).snapshot;
    expect(bad.resources.get('db-conn')).to.include({ capacity: 3, perMinute: 10 });
    expect(bad.problems.map((p) => [p.file, p.path])).to.deep.equal([[file, '$.capacity']]);

    const removed = nextChange(watcher, (e) => !e.snapshot.resources.has('db-conn'));
    unlinkSync(file);
    const gone = (await removed).snapshot;
    expect(gone.problems.map((p) => p.path)).to.deep.equal(['$.resources["db-conn"]']);
  });
});
