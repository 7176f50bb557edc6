import { expect } from 'chai';
import { Metrics } from '../../../src/core/metrics.js';
import { EsShipper, type EsShipperOptions } from '../../../src/report/shipper.js';
import { ES_TEST_VERSIONS, type EsTestServer } from '../../harness/elasticsearch.js';
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

/** `_id` → `_version` of every document in `index` (at most 10,000). */
async function versionsIn(esUrl: string, index: string): Promise<Map<string, number>> {
  await esJson(`${esUrl}/${index}/_refresh`, { method: 'POST' });
  const res = await esJson<{ hits: { hits: { _id: string; _version: number }[] } }>(
    `${esUrl}/${index}/_search`,
    { method: 'POST', body: JSON.stringify({ size: 10000, version: true, _source: false }) },
  );
  return new Map(res.hits.hits.map((h) => [h._id, h._version]));
}

async function deadLetterCount(metrics: Metrics): Promise<number> {
  const metric = await metrics.deadLetters.get();
  return metric.values.find((v) => v.labels.sink === 'elasticsearch')?.value ?? 0;
}

for (const [label, version, bulkRuns] of [
  ['9.x', ES_TEST_VERSIONS.v9, 10_000],
  ['8.x', ES_TEST_VERSIONS.v8, 1_000],
] as const) {
  describe(`EsShipper against a real Elasticsearch ${label} (${version})`, function () {
    this.timeout(300_000);
    let es: EsTestServer;
    let temp: TempStore;
    let shipper: EsShipper | undefined;
    let metrics: Metrics;

    before(async function () {
      es = await esOrSkip(this, `report shipper ${label}`, version);
      await esJson(`${es.url}/distcron-runs-203*`, { method: 'DELETE' });
    });

    beforeEach(() => {
      temp = tempStore();
      metrics = new Metrics({ defaultMetrics: false });
    });

    afterEach(async () => {
      await shipper?.close();
      shipper = undefined;
      temp.dispose();
    });

    function startShipper(tuning: Partial<EsShipperOptions> = {}): EsShipper {
      shipper = new EsShipper({
        store: new SqliteAsyncStore(temp.store),
        url: es.url,
        metrics,
        minBackoffMs: 100,
        maxBackoffMs: 1000,
        ...tuning,
      });
      shipper.start();
      return shipper;
    }

    async function drained(timeoutMs = 120_000): Promise<boolean> {
      return waitFor(() => temp.store.outboxBacklog().elasticsearch === 0, timeoutMs);
    }

    it(`ships ${bulkRuns} runs as exactly ${bulkRuns} documents with the run ids as _id`, async () => {
      const runs = Array.from({ length: bulkRuns }, (_, i) => reportRun('2031-01', i * 1000));
      enqueueRuns(temp.store, runs);
      startShipper().notify();
      expect(await drained()).to.equal(true);
      const ids = await idsIn(es.url, 'distcron-runs-2031.01');
      expect(ids).to.have.length(bulkRuns);
      expect(new Set(ids)).to.deep.equal(new Set(runs.map((r) => r.id)));
      expect(shipper!.status().shipped).to.equal(bulkRuns);
      expect((await metrics.outboxBacklog.get()).values[0]?.value).to.equal(0);
    });

    it('sends every run in exactly one request when several small requests are in flight', async () => {
      const runs = Array.from({ length: 600 }, (_, i) => reportRun('2031-03', i * 1000));
      enqueueRuns(temp.store, runs);
      // About three documents per request by bytes, four requests in flight.
      startShipper({ batchSize: 50, batchBytes: 6 * 1024, concurrency: 4 }).notify();
      expect(await drained()).to.equal(true);
      expect(shipper!.status().shipped).to.equal(runs.length);
      const versions = await versionsIn(es.url, 'distcron-runs-2031.03');
      expect(versions.size, 'documents').to.equal(runs.length);
      // A document indexed twice would have _version 2.
      expect([...versions.values()].filter((v) => v !== 1)).to.deep.equal([]);
    });

    it('overwrites instead of duplicating when the same runs are queued again', async () => {
      const runs = Array.from({ length: 300 }, (_, i) => reportRun('2031-02', i * 1000));
      enqueueRuns(temp.store, runs);
      startShipper().notify();
      expect(await drained()).to.equal(true);
      enqueueRuns(temp.store, runs);
      shipper!.notify();
      expect(await drained()).to.equal(true);
      expect(shipper!.status().shipped).to.equal(600);
      expect(await countIn(es.url, 'distcron-runs-2031.02')).to.equal(300);
    });

    it('dead-letters documents Elasticsearch refuses, with the reason and a metric, and ships the others', async () => {
      // A conflicting mapping created by hand before distcron writes to that month.
      await esJson(`${es.url}/distcron-runs-2032.02`, {
        method: 'PUT',
        body: JSON.stringify({
          mappings: {
            properties: { exit_code: { type: 'object', properties: { code: { type: 'integer' } } } },
          },
        }),
      });
      const good = Array.from({ length: 200 }, (_, i) => reportRun('2032-03', i * 1000));
      const refused = [0, 1, 2].map((i) => reportRun('2032-02', i * 1000));
      enqueueRuns(temp.store, [...good.slice(0, 100), ...refused, ...good.slice(100)]);
      startShipper().notify();
      expect(await drained()).to.equal(true);
      const dead = temp.store.listDeadLetters('elasticsearch');
      expect(dead.map((d) => d.key).sort()).to.deep.equal(refused.map((r) => r.id).sort());
      expect(dead[0]!.reason).to.match(/HTTP 400 .*exit_code/);
      expect(await deadLetterCount(metrics)).to.equal(3);
      expect(await countIn(es.url, 'distcron-runs-2032.03')).to.equal(200);
    });

    it('dead-letters a corrupt outbox payload without sending it', async () => {
      temp.store.enqueueOutbox([{ sink: 'elasticsearch', key: 'corrupt-1', payload: { not: 'a run' } }]);
      enqueueRuns(temp.store, [reportRun('2033-01', 0)]);
      startShipper().notify();
      expect(await drained()).to.equal(true);
      expect(temp.store.listDeadLetters('elasticsearch').map((d) => d.key)).to.deep.equal(['corrupt-1']);
      expect(await countIn(es.url, 'distcron-runs-2033.01')).to.equal(1);
    });
  });
}
