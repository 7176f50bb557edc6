import { expect } from 'chai';
import type { AsyncStore } from '../../../src/store/async-store.js';
import type { NotifyState, OutboxEntry } from '../../../src/store/store.js';
import { REFERENCE_TIME } from '../../harness/runs.js';
import { describeStores, rejection, type StoreFixture } from './stores.js';

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

/** A trigger that refuses every delete from the outbox, in each store's dialect. */
async function refuseOutboxDeletes(fx: StoreFixture): Promise<void> {
  if (fx.kind === 'sqlite') {
    await fx.sql(
      "CREATE TRIGGER no_delete BEFORE DELETE ON outbox BEGIN SELECT RAISE(ABORT, 'refused'); END",
    );
    return;
  }
  await fx.sql(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'refused'; END $$`);
  await fx.sql('CREATE TRIGGER no_delete BEFORE DELETE ON outbox FOR EACH ROW EXECUTE FUNCTION refuse()');
}

describeStores('store: outbox', (fx) => {
  let store: AsyncStore;
  const now = () => fx.clock.now();

  beforeEach(async () => (store = await fx.open()));

  it('hands out due items oldest first, per sink, up to the limit, with their payloads', async () => {
    await store.enqueueOutbox([
      entry('a', { n: [1, 'x'] }),
      entry('b'),
      { sink: 'email', key: 'a', payload: 1 },
    ]);
    fx.clock.advance(10);
    await store.enqueueOutbox([entry('c')]);
    const items = await store.takeOutbox('elasticsearch', 2, now());
    expect(items.map((i) => i.key)).to.deep.equal(['a', 'b']);
    expect(items[0]).to.deep.include({
      sink: 'elasticsearch',
      payload: { n: [1, 'x'] },
      attempts: 0,
      lastError: null,
      createdAt: REFERENCE_TIME,
      nextAttemptAt: REFERENCE_TIME,
    });
    await store.releaseOutbox(items.map((i) => i.id));
    const all = await store.takeOutbox('elasticsearch', 10, now());
    expect(all.map((i) => i.key)).to.deep.equal(['a', 'b', 'c']);
    expect(await store.takeOutbox('email', 10, now())).to.have.length(1);
  });

  it('reads on past items in flight with takeOutboxAfter', async () => {
    await store.enqueueOutbox([entry('a'), entry('b'), entry('c')]);
    const [a] = await store.takeOutbox('elasticsearch', 1, now());
    const after = await store.takeOutboxAfter('elasticsearch', a!.id, 10, now());
    expect(after.map((i) => i.key)).to.deep.equal(['b', 'c']);
  });

  it('ignores an entry whose key is already pending for that sink', async () => {
    await store.enqueueOutbox([entry('run-1', 'first')]);
    await store.enqueueOutbox([
      entry('run-1', 'second'),
      { sink: 'notify', key: 'run-1', payload: 'other sink' },
    ]);
    const pending = await store.takeOutbox('elasticsearch', 10, now());
    expect(pending.map((i) => i.payload)).to.deep.equal(['first']);
    expect(await store.outboxBacklog()).to.deep.equal({ elasticsearch: 1, notify: 1, email: 0, webhook: 0 });
  });

  it('removes acknowledged items, one or many at once', async () => {
    await store.enqueueOutbox([entry('a'), entry('b'), entry('c'), entry('d')]);
    const [a] = await store.takeOutbox('elasticsearch', 1, now());
    await store.ackOutbox([a!.id]);
    const rest = await store.takeOutbox('elasticsearch', 10, now());
    expect(rest.map((i) => i.key)).to.deep.equal(['b', 'c', 'd']);
    await store.ackOutbox([rest[0]!.id, rest[2]!.id]);
    await store.releaseOutbox([rest[1]!.id]);
    expect((await store.takeOutbox('elasticsearch', 10, now())).map((i) => i.key)).to.deep.equal(['c']);
  });

  it('schedules a retry: the item is hidden until its next attempt time, with the error and attempt count', async () => {
    await store.enqueueOutbox([entry('a'), entry('b')]);
    const [a] = await store.takeOutbox('elasticsearch', 1, now());
    await store.retryOutbox(a!.id, 'es: 503 Service Unavailable', now() + 30_000);
    const [b] = await store.takeOutbox('elasticsearch', 10, now());
    expect(b?.key).to.equal('b');
    await store.releaseOutbox([b!.id]);
    fx.clock.advance(30_000);
    const due = await store.takeOutbox('elasticsearch', 10, now());
    expect(due.map((i) => i.key)).to.deep.equal(['a', 'b']);
    expect(due[0]).to.deep.include({ attempts: 1, lastError: 'es: 503 Service Unavailable' });
    expect(due[0]!.nextAttemptAt).to.equal(now());
  });

  it('moves an item to the dead letters with its reason, removing it from the outbox', async () => {
    await store.enqueueOutbox([entry('a', { doc: 1 }), { sink: 'webhook', key: 'w', payload: 'hook' }]);
    const [a] = await store.takeOutbox('elasticsearch', 1, now());
    await store.retryOutbox(a!.id, 'mapping error', now());
    await store.deadLetter(a!.id, 'es: rejected by mapping; fix the index template', now() + 5);
    const [w] = await store.takeOutbox('webhook', 1, now());
    await store.deadLetter(w!.id, 'webhook: 410 Gone', now() + 6);

    expect(await store.takeOutbox('elasticsearch', 10, now() + 10)).to.deep.equal([]);
    expect((await store.outboxBacklog()).elasticsearch).to.equal(0);
    expect(await store.listDeadLetters('elasticsearch')).to.deep.equal([
      {
        id: 1,
        sink: 'elasticsearch',
        key: 'a',
        payload: { doc: 1 },
        reason: 'es: rejected by mapping; fix the index template',
        createdAt: now() + 5,
      },
    ]);
    expect((await store.listDeadLetters()).map((d) => d.key)).to.deep.equal(['w', 'a']);
    expect((await store.listDeadLetters(undefined, 1)).map((d) => d.key)).to.deep.equal(['w']);
  });

  it('dead-letters atomically: when removing the outbox item fails, no dead letter is written', async () => {
    await store.enqueueOutbox([entry('a')]);
    const [a] = await store.takeOutbox('elasticsearch', 1, now());
    await refuseOutboxDeletes(fx);
    expect((await rejection(store.deadLetter(a!.id, 'poison', now()))).message).to.match(/refused/);
    expect(await store.listDeadLetters()).to.deep.equal([]);
    await store.releaseOutbox([a!.id]);
    expect((await store.takeOutbox('elasticsearch', 10, now())).map((i) => i.key)).to.deep.equal(['a']);
  });

  it('dead-letters nothing for an unknown item id', async () => {
    await store.deadLetter(12345, 'gone', now());
    expect(await store.listDeadLetters()).to.deep.equal([]);
  });

  it('commits an outbox step (ack, enqueue, notify states) together', async () => {
    await store.enqueueOutbox([{ sink: 'notify', key: 'run:1', payload: {} }]);
    const [item] = await store.takeOutbox('notify', 1, now());
    await store.commitOutboxStep({
      ack: [item!.id],
      enqueue: [{ sink: 'email', key: 'run:1:ops@example.com', payload: { to: 'ops@example.com' } }],
      notifyStates: [failingState('backup')],
    });
    expect(await store.outboxBacklog()).to.deep.equal({ elasticsearch: 0, notify: 0, email: 1, webhook: 0 });
    expect(await store.getNotifyState('backup')).to.deep.equal(failingState('backup'));
  });

  it('leaves everything unchanged when any part of an outbox step fails', async () => {
    await store.enqueueOutbox([{ sink: 'notify', key: 'run:1', payload: {} }]);
    const [item] = await store.takeOutbox('notify', 1, now());
    const bad = { sink: 'email', key: 'bad', payload: { n: 1n } } as OutboxEntry;
    const step = { ack: [item!.id], enqueue: [{ ...bad, key: 'ok', payload: 1 }, bad], notifyStates: [] };
    await rejection(store.commitOutboxStep({ ...step, notifyStates: [failingState('backup')] }));
    expect(await store.outboxBacklog()).to.deep.equal({ elasticsearch: 0, notify: 1, email: 0, webhook: 0 });
    expect(await store.getNotifyState('backup')).to.equal(undefined);
  });

  it('keeps notify states per job and overwrites them', async () => {
    await store.setNotifyState(failingState('b'));
    await store.setNotifyState(failingState('a'));
    const recovered: NotifyState = { ...failingState('a'), state: 'ok', lastReminderAt: REFERENCE_TIME + 9 };
    await store.setNotifyState(recovered);
    expect(await store.listNotifyStates()).to.deep.equal([recovered, failingState('b')]);
    expect(await store.getNotifyState('zzz')).to.equal(undefined);
  });

  it('keeps pending items across close and reopen, so delivery resumes after a restart', async () => {
    await store.enqueueOutbox([entry('a')]);
    await store.close();
    const reopened = await fx.open();
    expect((await reopened.takeOutbox('elasticsearch', 10, now())).map((i) => i.key)).to.deep.equal(['a']);
  });

  it('keeps an audit row per API write, newest first, paged by id', async () => {
    const row = {
      at: '2026-11-26T09:00:00.000Z',
      token: 'ci',
      action: 'job.run',
      address: '127.0.0.1',
      status: 202,
    };
    await store.insertAudit({ ...row, target: 'backup' });
    await store.insertAudit({ ...row, token: null, address: null, target: 'rotate', status: 401 });
    const [newest, oldest] = await store.listAudit(10);
    expect(newest).to.deep.include({ token: null, target: 'rotate', status: 401, address: null });
    expect(oldest).to.deep.equal({ id: oldest!.id, ...row, target: 'backup' });
    expect((await store.listAudit(10, newest!.id)).map((a) => a.target)).to.deep.equal(['backup']);
  });
});

describeStores(
  'store: outbox claims between members',
  (fx) => {
    it('hands each delivery item to one member at a time: taken items go to no other until released or retried', async () => {
      const [one, two] = [await fx.open(), await fx.open()];
      await one.enqueueOutbox([
        entry('a'),
        entry('b'),
        entry('c'),
        { sink: 'webhook', key: 'w', payload: 1 },
      ]);
      const [took1, took2, webhooks] = await Promise.all([
        one.takeOutbox('elasticsearch', 2, fx.clock.now()),
        two.takeOutbox('elasticsearch', 10, fx.clock.now()),
        two.takeOutbox('webhook', 10, fx.clock.now()),
      ]);
      const keys = [...took1, ...took2].map((i) => i.key).sort();
      expect(keys, 'each item once across the two').to.deep.equal(['a', 'b', 'c']);
      expect(webhooks.map((i) => i.key)).to.deep.equal(['w']);
      expect(await two.takeOutbox('elasticsearch', 10, fx.clock.now())).to.deep.equal([]);
      await one.releaseOutbox(took1.map((i) => i.id));
      const again = await two.takeOutbox('elasticsearch', 10, fx.clock.now());
      expect(again.map((i) => i.key)).to.deep.equal(took1.map((i) => i.key));
      await two.retryOutbox(again[0]!.id, 'es: 503', fx.clock.now());
      expect((await one.takeOutbox('elasticsearch', 10, fx.clock.now())).map((i) => i.key)).to.deep.equal([
        again[0]!.key,
      ]);
    });

    it('takes notify items in order: a second taker inside a transaction waits for the first to commit', async () => {
      const [one, two] = [await fx.open(), await fx.open()];
      await one.enqueueOutbox([
        { sink: 'notify', key: 'n1', payload: 1 },
        { sink: 'notify', key: 'n2', payload: 2 },
      ]);
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let firstTook: string[] = [];
      const first = one.transaction(async (tx) => {
        const items = await tx.takeOutbox('notify', 1, fx.clock.now());
        firstTook = items.map((i) => i.key);
        await held;
        await tx.ackOutbox(items.map((i) => i.id));
      });
      while (firstTook.length === 0) await new Promise((r) => setTimeout(r, 10));
      const second = two.transaction(async (tx) =>
        (await tx.takeOutbox('notify', 10, fx.clock.now())).map((i) => i.key),
      );
      let secondDone = false;
      void second.then(() => (secondDone = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(secondDone, 'the second taker waits').to.equal(false);
      release();
      await first;
      expect(firstTook).to.deep.equal(['n1']);
      expect(await second).to.deep.equal(['n2']);
    });
  },
  ['postgres'],
);
