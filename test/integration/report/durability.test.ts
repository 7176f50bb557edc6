import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { RunRecord } from '../../../src/core/types.js';
import { esOutboxEntry } from '../../../src/report/outbox.js';
import { EsShipper } from '../../../src/report/shipper.js';
import type { EsTestServer } from '../../harness/elasticsearch.js';
import {
  countIn,
  enqueueRuns,
  esJson,
  esOrSkip,
  idsIn,
  reportRun,
  tempStore,
  waitFor,
  type TempStore,
} from './fixtures.js';
import { SqliteAsyncStore } from '../../../src/store/sqlite-async.js';

const CHILD = fileURLToPath(new URL('./ship-child.ts', import.meta.url));
const OUTAGE_MS = 30_000;

/** Finishes a run the way the daemon does: insert as running, then final update + outbox in one transaction. */
function finishThroughStore(temp: TempStore, run: RunRecord): void {
  temp.store.insertRun({ ...run, status: 'running', finished_at: null, duration_ms: null, exit_code: null });
  temp.store.finishRun(run, [esOutboxEntry(run, undefined)]);
}

describe('Elasticsearch reports survive outages and crashes (real server)', function () {
  this.timeout(1_200_000);
  let es: EsTestServer;
  let temp: TempStore;
  let shipper: EsShipper | undefined;
  let child: ChildProcess | undefined;

  before(async function () {
    es = await esOrSkip(this, 'report durability');
    await esJson(`${es.url}/distcron-runs-203*`, { method: 'DELETE' });
  });

  beforeEach(() => {
    temp = tempStore();
  });

  afterEach(async () => {
    child?.kill('SIGKILL');
    await shipper?.close();
    shipper = undefined;
    temp.dispose();
  });

  it('ships every run exactly once when Elasticsearch is down for 30 s while runs keep finishing', async () => {
    shipper = new EsShipper({
      store: new SqliteAsyncStore(temp.store),
      url: es.url,
      minBackoffMs: 200,
      maxBackoffMs: 2000,
    });
    shipper.start();
    const produced: RunRecord[] = [];
    let producing = true;
    const producer = (async () => {
      while (producing) {
        const run = reportRun('2034-04', produced.length * 1000);
        finishThroughStore(temp, run);
        produced.push(run);
        shipper!.notify();
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await new Promise((r) => setTimeout(r, 3000));
    await es.stop();
    const stoppedAt = produced.length;
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    expect(shipper.status().failures, 'shipper noticed the outage').to.be.greaterThan(0);
    expect(temp.store.outboxBacklog().elasticsearch).to.be.greaterThan(0);
    await es.start();
    producing = false;
    await producer;
    expect(produced.length - stoppedAt, 'runs finished during the outage').to.be.greaterThan(100);
    expect(await waitFor(() => temp.store.outboxBacklog().elasticsearch === 0, 120_000)).to.equal(true);
    const ids = await idsIn(es.url, 'distcron-runs-2034.*');
    expect(ids).to.have.length(produced.length);
    expect(new Set(ids)).to.deep.equal(new Set(produced.map((r) => r.id)));
  });

  it('ships the whole backlog exactly once after the shipping process is killed with SIGKILL', async () => {
    const runs = Array.from({ length: 5000 }, (_, i) => reportRun('2035-05', i * 1000));
    enqueueRuns(temp.store, runs);
    child = spawn(process.execPath, ['--import', 'tsx', CHILD, temp.path, es.url, '100'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let shippedByChild = 0;
    child.stdout!.on('data', (chunk: Buffer) => {
      const last = /shipped (\d+)\s*$/.exec(chunk.toString());
      if (last) shippedByChild = Number(last[1]);
    });
    expect(await waitFor(() => shippedByChild >= 500, 120_000, 20)).to.equal(true);
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const left = temp.store.outboxBacklog().elasticsearch;
    expect(left, 'backlog pending at the kill').to.be.greaterThan(0);

    shipper = new EsShipper({ store: new SqliteAsyncStore(temp.store), url: es.url });
    shipper.start();
    expect(await waitFor(() => temp.store.outboxBacklog().elasticsearch === 0, 120_000)).to.equal(true);
    const ids = await idsIn(es.url, 'distcron-runs-2035.05');
    expect(ids).to.have.length(runs.length);
    expect(new Set(ids)).to.deep.equal(new Set(runs.map((r) => r.id)));
    expect(await countIn(es.url, 'distcron-runs-*2035*')).to.equal(runs.length);
  });
});
