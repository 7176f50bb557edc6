import BetterSqlite3 from 'better-sqlite3';
import { expect } from 'chai';
import type { SqliteStore } from '../../../src/store/sqlite.js';
import type { NotifyState, OutboxEntry } from '../../../src/store/store.js';
import { REFERENCE_TIME } from '../../harness/runs.js';
import { TempStore } from './temp-store.js';

function entry(key: string, payload: unknown = { key }): OutboxEntry {
  return { sink: 'elasticsearch', key, payload };
}

function failingState(job: string): NotifyState {
  return {
    job,
    state: 'failing',
    since: REFERENCE_TIME,
    lastNotifiedAt: REFERENCE_TIME + 1000,
    lastReminderAt: null,
    floodWindowStart: REFERENCE_TIME,
    floodCount: 3,
  };
}

describe('SQLite store: outbox', () => {
  let temp: TempStore;
  let store: SqliteStore;
  const now = () => temp.clock.now();

  beforeEach(() => {
    temp = new TempStore();
    store = temp.open();
  });
  afterEach(() => temp.cleanup());

  it('hands out due items oldest first, per sink, up to the limit, with their payloads', () => {
    store.enqueueOutbox([entry('a', { n: [1, 'x'] }), entry('b'), { sink: 'email', key: 'a', payload: 1 }]);
    temp.clock.advance(10);
    store.enqueueOutbox([entry('c')]);
    const items = store.takeOutbox('elasticsearch', 2, now());
    expect(items.map((i) => i.key)).to.deep.equal(['a', 'b']);
    expect(items[0]).to.deep.include({
      sink: 'elasticsearch',
      payload: { n: [1, 'x'] },
      attempts: 0,
      lastError: null,
      createdAt: REFERENCE_TIME,
      nextAttemptAt: REFERENCE_TIME,
    });
    expect(store.takeOutbox('elasticsearch', 10, now()).map((i) => i.key)).to.deep.equal(['a', 'b', 'c']);
    expect(store.takeOutbox('email', 10, now())).to.have.length(1);
  });

  it('ignores an entry whose key is already pending for that sink', () => {
    store.enqueueOutbox([entry('run-1', 'first')]);
    store.enqueueOutbox([entry('run-1', 'second'), { sink: 'notify', key: 'run-1', payload: 'other sink' }]);
    expect(store.takeOutbox('elasticsearch', 10, now()).map((i) => i.payload)).to.deep.equal(['first']);
    expect(store.outboxBacklog()).to.deep.equal({ elasticsearch: 1, notify: 1, email: 0, webhook: 0 });
  });

  it('removes acknowledged items', () => {
    store.enqueueOutbox([entry('a'), entry('b')]);
    const [a] = store.takeOutbox('elasticsearch', 1, now());
    store.ackOutbox([a!.id]);
    expect(store.takeOutbox('elasticsearch', 10, now()).map((i) => i.key)).to.deep.equal(['b']);
  });

  it('schedules a retry: the item is hidden until its next attempt time, with the error and attempt count', () => {
    store.enqueueOutbox([entry('a'), entry('b')]);
    const [a] = store.takeOutbox('elasticsearch', 1, now());
    store.retryOutbox(a!.id, 'es: 503 Service Unavailable', now() + 30_000);
    expect(store.takeOutbox('elasticsearch', 10, now()).map((i) => i.key)).to.deep.equal(['b']);
    temp.clock.advance(30_000);
    const due = store.takeOutbox('elasticsearch', 10, now());
    expect(due.map((i) => i.key)).to.deep.equal(['a', 'b']);
    expect(due[0]).to.deep.include({ attempts: 1, lastError: 'es: 503 Service Unavailable' });
    expect(due[0]!.nextAttemptAt).to.equal(now());
  });

  it('moves an item to the dead letters with its reason, removing it from the outbox', () => {
    store.enqueueOutbox([entry('a', { doc: 1 }), { sink: 'webhook', key: 'w', payload: 'hook' }]);
    const [a] = store.takeOutbox('elasticsearch', 1, now());
    store.retryOutbox(a!.id, 'mapping error', now());
    store.deadLetter(a!.id, 'es: rejected by mapping; fix the index template', now() + 5);
    const [w] = store.takeOutbox('webhook', 1, now());
    store.deadLetter(w!.id, 'webhook: 410 Gone', now() + 6);

    expect(store.takeOutbox('elasticsearch', 10, now() + 10)).to.deep.equal([]);
    expect(store.outboxBacklog().elasticsearch).to.equal(0);
    expect(store.listDeadLetters('elasticsearch')).to.deep.equal([
      {
        id: 1,
        sink: 'elasticsearch',
        key: 'a',
        payload: { doc: 1 },
        reason: 'es: rejected by mapping; fix the index template',
        createdAt: now() + 5,
      },
    ]);
    expect(store.listDeadLetters().map((d) => d.key)).to.deep.equal(['w', 'a']);
    expect(store.listDeadLetters(undefined, 1).map((d) => d.key)).to.deep.equal(['w']);
  });

  it('dead-letters atomically: when removing the outbox item fails, no dead letter is written', () => {
    store.enqueueOutbox([entry('a')]);
    const [a] = store.takeOutbox('elasticsearch', 1, now());
    const admin = new BetterSqlite3(temp.path);
    admin.exec("CREATE TRIGGER no_delete BEFORE DELETE ON outbox BEGIN SELECT RAISE(ABORT, 'refused'); END");
    admin.close();
    expect(() => store.deadLetter(a!.id, 'poison', now())).to.throw(/refused/);
    expect(store.listDeadLetters()).to.deep.equal([]);
    expect(store.takeOutbox('elasticsearch', 10, now()).map((i) => i.key)).to.deep.equal(['a']);
  });

  it('dead-letters nothing for an unknown item id', () => {
    store.deadLetter(12345, 'gone', now());
    expect(store.listDeadLetters()).to.deep.equal([]);
  });

  it('commits an outbox step (ack, enqueue, notify states) together', () => {
    store.enqueueOutbox([{ sink: 'notify', key: 'run:1', payload: {} }]);
    const [item] = store.takeOutbox('notify', 1, now());
    store.commitOutboxStep({
      ack: [item!.id],
      enqueue: [{ sink: 'email', key: 'run:1:ops@example.com', payload: { to: 'ops@example.com' } }],
      notifyStates: [failingState('backup')],
    });
    expect(store.outboxBacklog()).to.deep.equal({ elasticsearch: 0, notify: 0, email: 1, webhook: 0 });
    expect(store.getNotifyState('backup')).to.deep.equal(failingState('backup'));
  });

  it('leaves everything unchanged when any part of an outbox step fails', () => {
    store.enqueueOutbox([{ sink: 'notify', key: 'run:1', payload: {} }]);
    const [item] = store.takeOutbox('notify', 1, now());
    const bad = { sink: 'email', key: 'bad', payload: { n: 1n } } as OutboxEntry;
    const step = { ack: [item!.id], enqueue: [{ ...bad, key: 'ok', payload: 1 }, bad], notifyStates: [] };
    expect(() => store.commitOutboxStep({ ...step, notifyStates: [failingState('backup')] })).to.throw();
    expect(store.outboxBacklog()).to.deep.equal({ elasticsearch: 0, notify: 1, email: 0, webhook: 0 });
    expect(store.getNotifyState('backup')).to.equal(undefined);
  });

  it('keeps notify states per job and overwrites them', () => {
    store.setNotifyState(failingState('b'));
    store.setNotifyState(failingState('a'));
    const recovered: NotifyState = { ...failingState('a'), state: 'ok', lastReminderAt: REFERENCE_TIME + 9 };
    store.setNotifyState(recovered);
    expect(store.listNotifyStates()).to.deep.equal([recovered, failingState('b')]);
    expect(store.getNotifyState('zzz')).to.equal(undefined);
  });

  it('keeps pending items across close and reopen, so delivery resumes after a restart', () => {
    store.enqueueOutbox([entry('a')]);
    store.close();
    const reopened = temp.open();
    expect(reopened.takeOutbox('elasticsearch', 10, now()).map((i) => i.key)).to.deep.equal(['a']);
  });
});
