import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { createLogger } from '../../../src/core/log.js';
import { Metrics } from '../../../src/core/metrics.js';
import { esOutboxEntry } from '../../../src/report/outbox.js';
import { EsShipper } from '../../../src/report/shipper.js';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite.js';
import { SqliteAsyncStore } from '../../../src/store/sqlite-async.js';

const SECRET = 'hunter2-very-secret';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

describe('EsShipper with an unreachable Elasticsearch', () => {
  let dir: string;
  let store: SqliteStore;
  let logText: string;
  let shipper: EsShipper;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'distcron-shipper-'));
    store = openSqliteStore({ path: join(dir, 'd.db') });
    logText = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logText += chunk.toString();
        done();
      },
    });
    shipper = new EsShipper({
      store: new SqliteAsyncStore(store),
      url: `http://127.0.0.1:${await closedPort()}`,
      auth: { username: 'distcron', password: SECRET },
      minBackoffMs: 10,
      maxBackoffMs: 40,
      logger: createLogger('debug', sink),
      metrics: new Metrics({ defaultMetrics: false }),
    });
  });

  afterEach(async () => {
    await shipper.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts without throwing, keeps retrying in the background and keeps the outbox', async () => {
    store.enqueueOutbox([esOutboxEntry(runFor('r1'), undefined)]);
    shipper.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(shipper.status().failures).to.be.greaterThan(1);
    expect(shipper.status().lastError).to.match(/ConnectionError/);
    expect(store.outboxBacklog().elasticsearch).to.equal(1);
  });

  it('never writes the password into its logs', async () => {
    shipper.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(logText).to.contain('retrying');
    expect(logText).not.to.contain(SECRET);
  });

  it('closes without waiting out a long backoff, and closing twice is harmless', async () => {
    const slow = new EsShipper({
      store: new SqliteAsyncStore(store),
      url: `http://127.0.0.1:${await closedPort()}`,
      minBackoffMs: 60_000,
    });
    slow.start();
    await new Promise((r) => setTimeout(r, 100));
    expect(slow.status().failures).to.equal(1);
    const started = Date.now();
    await slow.close();
    await slow.close();
    expect(Date.now() - started, 'a 30-60 s backoff was cut short').to.be.below(10_000);
  });
});

function runFor(id: string) {
  return {
    id,
    execution_id: id,
    job: 'j',
    node: 'n',
    host: 'h',
    trigger: 'manual' as const,
    attempt: 1,
    scheduled_at: null,
    started_at: '2026-11-26T09:00:00.000Z',
    finished_at: '2026-11-26T09:00:01.000Z',
    duration_ms: 1000,
    status: 'succeeded' as const,
    exit_code: 0,
    signal: null,
    stdout: '',
    stderr: '',
    output_truncated: false,
    error: null,
  };
}
