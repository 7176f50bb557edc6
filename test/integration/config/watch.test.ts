import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  ConfigWatcher,
  type ConfigChangeEvent,
  type ConfigWatcherOptions,
} from '../../../src/config/index.js';
import { LOCAL_NODE, simpleJob, TmpConfig } from './tmp-config.js';

/** Generous: the watcher reacts within ~100 ms; this only bounds a hung test. */
const EVENT_TIMEOUT_MS = 5_000;

function nextChange(
  watcher: ConfigWatcher,
  match: (e: ConfigChangeEvent) => boolean,
): Promise<ConfigChangeEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      watcher.off('change', listener);
      reject(new Error('no matching change event'));
    }, EVENT_TIMEOUT_MS);
    const listener = (event: ConfigChangeEvent) => {
      if (!match(event)) return;
      clearTimeout(timer);
      watcher.off('change', listener);
      resolve(event);
    };
    watcher.on('change', listener);
  });
}

describe('config: watching jobs.d and nodes.d', () => {
  let cfg: TmpConfig;
  let watcher: ConfigWatcher;

  async function startWatcher(extra: Partial<ConfigWatcherOptions> = {}) {
    watcher = new ConfigWatcher({
      jobsDir: cfg.jobsDir,
      nodesDir: cfg.nodesDir,
      defaultTimezone: 'UTC',
      ...extra,
    });
    return watcher.start();
  }

  beforeEach(() => {
    cfg = new TmpConfig();
    cfg.node('db1.json', LOCAL_NODE);
    cfg.job('a.json', simpleJob({ description: 'v1' }));
  });
  afterEach(() => {
    watcher?.close();
    cfg.remove();
  });

  it('starts with the loaded snapshot', async () => {
    const snapshot = await startWatcher();
    expect([...snapshot.jobs.keys()]).to.deep.equal(['a']);
    expect(watcher.snapshot).to.equal(snapshot);
  });

  it('picks up an added, a changed and a removed job, one event each', async () => {
    await startWatcher();
    const added = nextChange(watcher, (e) => e.diff.jobs.added.length > 0);
    cfg.job('b.json', simpleJob());
    expect((await added).diff.jobs).to.deep.equal({ added: ['b'], changed: [], removed: [] });

    const changed = nextChange(watcher, (e) => e.diff.jobs.changed.length > 0);
    cfg.job('a.json', simpleJob({ description: 'v2' }));
    const event = await changed;
    expect(event.diff.jobs).to.deep.equal({ added: [], changed: ['a'], removed: [] });
    expect(event.snapshot.jobs.get('a')!.description).to.equal('v2');

    const removed = nextChange(watcher, (e) => e.diff.jobs.removed.length > 0);
    unlinkSync(join(cfg.jobsDir, 'b.json'));
    expect((await removed).diff.jobs).to.deep.equal({ added: [], changed: [], removed: ['b'] });
  });

  it('picks up nodes, and clears a cross-file problem once the named node exists', async () => {
    cfg.job('c.json', '{"policy": {"hosts": ["db2"]}, "command": ["x"]}');
    const first = await startWatcher();
    expect(first.problems.map((p) => p.path)).to.deep.equal(['$.policy.hosts[0]']);
    const added = nextChange(watcher, (e) => e.diff.nodes.added.includes('db2'));
    cfg.node('db2.json', LOCAL_NODE);
    expect((await added).snapshot.problems).to.deep.equal([]);
  });

  it('keeps the last good version of a job whose file turns invalid, and reports the file', async () => {
    await startWatcher();
    const broken = nextChange(watcher, (e) => e.snapshot.problems.length > 0);
    const file = cfg.job('a.json', '{"policy": {"hosts": ["db1"]}, "command": ["x"],}');
    const event = await broken;
    expect(event.diff.jobs).to.deep.equal({ added: [], changed: [], removed: [] });
    expect(event.snapshot.jobs.get('a')!.description).to.equal('v1');
    expect(event.snapshot.problems.map((p) => [p.file, p.line, p.column])).to.deep.equal([[file, 1, 48]]);

    const fixed = nextChange(watcher, (e) => e.diff.jobs.changed.includes('a'));
    cfg.job('a.json', simpleJob({ description: 'v3' }));
    const after = await fixed;
    expect(after.snapshot.jobs.get('a')!.description).to.equal('v3');
    expect(after.snapshot.problems).to.deep.equal([]);
  });

  it('follows a new subdirectory, and forgets the jobs of a deleted one', async () => {
    await startWatcher();
    const added = nextChange(watcher, (e) => e.diff.jobs.added.includes('deep'));
    cfg.job('team/sub/deep.json', simpleJob());
    await added;
    const removed = nextChange(watcher, (e) => e.diff.jobs.removed.includes('deep'));
    rmSync(join(cfg.jobsDir, 'team'), { recursive: true });
    expect((await removed).snapshot.jobs.has('deep')).to.equal(false);
  });

  it('treats a rename as one removal and one addition', async () => {
    await startWatcher();
    const renamed = nextChange(watcher, (e) => e.diff.jobs.added.includes('z'));
    renameSync(join(cfg.jobsDir, 'a.json'), join(cfg.jobsDir, 'z.json'));
    const event = await renamed;
    expect(event.diff.jobs).to.deep.equal({ added: ['z'], changed: [], removed: ['a'] });
  });

  it('keeps its jobs when the whole jobs directory disappears, and reloads it when it is back', async () => {
    await startWatcher({ rescanIntervalMs: 100 });
    const gone = nextChange(watcher, (e) =>
      e.snapshot.problems.some((p) => p.message.includes('is missing')),
    );
    rmSync(cfg.jobsDir, { recursive: true });
    expect((await gone).snapshot.jobs.has('a')).to.equal(true);
    const back = nextChange(
      watcher,
      (e) => e.diff.jobs.added.includes('n') && e.snapshot.problems.length === 0,
    );
    cfg.job('n.json', simpleJob());
    const event = await back;
    expect(event.diff.jobs.removed).to.deep.equal(['a']);
  });

  it('catches changes that no event announced, by the periodic rescan', async () => {
    // A debounce this long means inotify events are not acted on within the test.
    await startWatcher({ debounceMs: 60_000, rescanIntervalMs: 100 });
    const seen = nextChange(watcher, (e) => e.diff.jobs.added.includes('quiet'));
    cfg.job('quiet.json', simpleJob());
    await seen;
  });

  it('notices by rescan an edit to a file loaded at start-up, with no event acted on', async () => {
    await startWatcher({ debounceMs: 60_000, rescanIntervalMs: 60_000 });
    expect(await watcher.rescan(), 'nothing changed yet').to.equal(undefined);
    cfg.job('a.json', simpleJob({ description: 'edited quietly' }));
    const event = await watcher.rescan();
    expect(event?.diff.jobs.changed).to.deep.equal(['a']);
  });

  it('looks at named files at once on refresh, without waiting for events', async () => {
    await startWatcher({ debounceMs: 60_000, rescanIntervalMs: 60_000 });
    const written = cfg.job('put.json', simpleJob());
    unlinkSync(join(cfg.jobsDir, 'a.json'));
    const event = await watcher.refresh([written, join(cfg.jobsDir, 'a.json')]);
    expect(event?.diff.jobs).to.deep.equal({ added: ['put'], changed: [], removed: ['a'] });
  });

  it('re-reads everything on reloadAll', async () => {
    await startWatcher({ debounceMs: 60_000, rescanIntervalMs: 60_000 });
    cfg.job('r.json', simpleJob());
    cfg.job('a.json', simpleJob({ description: 'v9' }));
    const event = await watcher.reloadAll();
    expect(event?.diff.jobs).to.deep.equal({ added: ['r'], changed: ['a'], removed: [] });
    expect(watcher.snapshot.jobs.get('a')!.description).to.equal('v9');
  });

  it('reports hostile files dropped into a watched directory and keeps working', async () => {
    await startWatcher();
    const hostile = nextChange(watcher, (e) => e.snapshot.problems.length >= 5);
    execFileSync('mkfifo', [join(cfg.jobsDir, 'pipe.json')]);
    writeFileSync(join(cfg.jobsDir, 'junk.json'), Buffer.from([0, 0xff, 0x80, 0x01]));
    cfg.job('huge.json', `"${'x'.repeat(10 * 1024 * 1024)}"`);
    cfg.job('deep.json', '['.repeat(100_000) + ']'.repeat(100_000));
    symlinkSync(join(cfg.jobsDir, 'loop.json'), join(cfg.jobsDir, 'loop.json'));
    const messages = (await hostile).snapshot.problems.map((p) => `${basename(p.file)}: ${p.message}`);
    expect(messages).to.have.length(5);
    for (const [file, text] of [
      ['deep.json', 'nested deeper than'],
      ['huge.json', 'larger than'],
      ['junk.json', 'invalid JSON'],
      ['loop.json', 'symlink loop'],
      ['pipe.json', 'not a regular file'],
    ])
      expect(
        messages.some((m) => m.startsWith(file!) && m.includes(text!)),
        `${file}: ${text}`,
      ).to.equal(true);
    const after = nextChange(watcher, (e) => e.diff.jobs.added.includes('fine'));
    cfg.job('fine.json', simpleJob());
    await after;
  });

  it('emits nothing after close, and close can be called twice', async () => {
    await startWatcher();
    let events = 0;
    watcher.on('change', () => events++);
    watcher.close();
    watcher.close();
    cfg.job('late.json', simpleJob());
    await new Promise((r) => setTimeout(r, 300));
    expect(events).to.equal(0);
  });
});
