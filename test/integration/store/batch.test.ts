import { expect } from 'chai';
import type { SqliteStore } from '../../../src/store/sqlite.js';
import type { OutboxEntry } from '../../../src/store/store.js';
import { fakeRun, finishedRun } from '../../harness/runs.js';
import { TempStore } from './temp-store.js';

const unserializable = { sink: 'notify', key: 'bad', payload: { n: 1n } } as OutboxEntry;

describe('SQLite store: synchronous batch (several writes, one commit; callers move to transaction())', () => {
  let temp: TempStore;
  let store: SqliteStore;

  beforeEach(() => {
    temp = new TempStore();
    store = temp.open();
  });
  afterEach(() => temp.cleanup());

  it('stores every write of the batch and returns what the body returns', () => {
    const a = fakeRun({ status: 'running' });
    const b = fakeRun({ status: 'running', node: 'db2' });
    const result = store.batch(() => {
      store.insertRun(a);
      store.insertRun(b);
      store.finishRun(finishedRun(a), [{ sink: 'notify', key: `run:${a.id}`, payload: {} }]);
      return 'done';
    });
    expect(result).to.equal('done');
    expect(store.getRun(a.id)!.status).to.equal('succeeded');
    expect(store.getRun(b.id)!.status).to.equal('running');
    expect(store.outboxBacklog().notify).to.equal(1);
  });

  it('stores none of the writes when the body throws', () => {
    const a = fakeRun({ status: 'running' });
    expect(() =>
      store.batch(() => {
        store.insertRun(a);
        store.enqueueOutbox([{ sink: 'notify', key: 'k', payload: {} }]);
        throw new Error('boom');
      }),
    ).to.throw('boom');
    expect(store.getRun(a.id)).to.equal(undefined);
    expect(store.outboxBacklog().notify).to.equal(0);
  });

  it('undoes the whole batch when a write inside it fails, even if the body catches the error', () => {
    const good = fakeRun({ status: 'running' });
    const bad = fakeRun({ status: 'running', node: 'db2' });
    store.insertRun(good);
    store.insertRun(bad);
    expect(() =>
      store.batch(() => {
        store.finishRun(finishedRun(good), [{ sink: 'elasticsearch', key: good.id, payload: {} }]);
        expect(() => store.finishRun(finishedRun(bad, { status: 'failed' }), [unserializable])).to.throw();
      }),
    ).to.throw(/store: a write inside batch\(\) failed/);
    expect(store.getRun(bad.id)!.status).to.equal('running');
    expect(store.getRun(good.id)!.status).to.equal('running');
    expect(store.getJobState('backup')).to.equal(undefined);
    expect(store.outboxBacklog()).to.deep.equal({ elasticsearch: 0, notify: 0, email: 0, webhook: 0 });
  });

  it('commits a later batch normally after a spoiled one', () => {
    const run = fakeRun({ status: 'running' });
    store.insertRun(run);
    expect(() => store.batch(() => store.finishRun(fakeRun({ status: 'failed' }), []))).to.throw();
    store.batch(() => store.finishRun(finishedRun(run), []));
    expect(store.getRun(run.id)!.status).to.equal('succeeded');
  });

  it("records each job's last outcome of the batch in the job state", () => {
    const [a, b, c] = [
      fakeRun({ status: 'running' }),
      fakeRun({ status: 'running' }),
      fakeRun({ status: 'running', job: 'rotate' }),
    ];
    for (const run of [a!, b!, c!]) store.insertRun(run);
    store.batch(() => {
      store.finishRun(finishedRun(a!, { status: 'failed' }), []);
      store.finishRun(finishedRun(c!), []);
      store.finishRun(finishedRun(b!), []);
    });
    expect(store.getJobState('backup')).to.deep.include({ lastRunId: b!.id, lastStatus: 'succeeded' });
    expect(store.getJobState('rotate')).to.deep.include({ lastRunId: c!.id, lastStatus: 'succeeded' });
  });

  it('forgets the outcomes of an undone batch', () => {
    const run = fakeRun({ status: 'running' });
    store.insertRun(run);
    expect(() =>
      store.batch(() => {
        store.finishRun(finishedRun(run), []);
        throw new Error('boom');
      }),
    ).to.throw('boom');
    store.batch(() => store.enqueueOutbox([{ sink: 'notify', key: 'k', payload: {} }]));
    expect(store.getJobState('backup')).to.equal(undefined);
  });
});
