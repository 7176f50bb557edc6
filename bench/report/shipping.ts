/**
 * Elasticsearch shipping benchmark against a real server (the test harness's integ-test-zip):
 *  1. throughput: a backlog of runs with 1 KB of stdout each, shipped by EsShipper (bulk);
 *  2. a naive baseline: one index request per run (no peer tool exists to compare with);
 *  3. lag at a steady rate: runs finished through the store at --rate per second for
 *     --lag-seconds; lag = finish (outbox commit) → the document is searchable (what Kibana sees).
 *
 *   npx tsx bench/report/shipping.ts [--runs 20000] [--rounds 3] [--naive 2000] [--rate 100]
 *                                    [--lag-seconds 60] [--es-url http://127.0.0.1:9200] [--version 9.5.3]
 *                                    [--batch-size 1000] [--concurrency 2]
 */
import { loadavg, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client } from '@elastic/elasticsearch';
import type { RunRecord } from '../../src/core/types.js';
import { indexFor, runToDocument } from '../../src/report/document.js';
import { esOutboxEntry } from '../../src/report/outbox.js';
import { EsShipper } from '../../src/report/shipper.js';
import { EsTestServer, ES_TEST_VERSIONS } from '../../test/harness/elasticsearch.js';
import {
  countIn,
  enqueueRuns,
  esJson,
  reportRun,
  tempStore,
  waitFor,
} from '../../test/integration/report/fixtures.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    naive: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '100' },
    'lag-seconds': { type: 'string', default: '60' },
    'es-url': { type: 'string' },
    version: { type: 'string', default: ES_TEST_VERSIONS.v9 },
    'batch-size': { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '2' },
  },
});
const RUNS = Number(args.runs);
const RATE = Number(args.rate);
const LAG_SECONDS = Number(args['lag-seconds']);
const TUNING = { batchSize: Number(args['batch-size']), concurrency: Number(args.concurrency) };

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const median = (xs: number[]) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

async function shipBacklog(esUrl: string, month: string): Promise<number> {
  const temp = tempStore();
  enqueueRuns(
    temp.store,
    Array.from({ length: RUNS }, (_, i) => reportRun(month, i * 1000)),
  );
  const shipper = new EsShipper({ store: temp.store, url: esUrl, ...TUNING });
  const started = performance.now();
  shipper.start();
  await waitFor(() => temp.store.outboxBacklog().elasticsearch === 0, 600_000, 5);
  const seconds = (performance.now() - started) / 1000;
  await shipper.close();
  temp.dispose();
  const stored = await countIn(esUrl, `distcron-runs-${month.replace('-', '.')}`);
  if (stored !== RUNS) throw new Error(`bench: expected ${RUNS} documents in ${month}, found ${stored}`);
  return RUNS / seconds;
}

async function naiveIndexing(esUrl: string, count: number): Promise<number> {
  const client = new Client({ node: esUrl, maxRetries: 0 });
  const runs = Array.from({ length: count }, (_, i) => reportRun('2037-01', i * 1000));
  const started = performance.now();
  for (const run of runs) {
    await client.index({
      index: indexFor(run),
      id: run.id,
      document: runToDocument({ run, tags: [], description: null }),
    });
  }
  const seconds = (performance.now() - started) / 1000;
  await client.close();
  return count / seconds;
}

/** Finishes runs through the store at RATE/s and polls search until each one is visible. */
async function steadyLag(esUrl: string): Promise<{ lags: number[]; achievedRate: number }> {
  const temp = tempStore();
  const shipper = new EsShipper({ store: temp.store, url: esUrl });
  shipper.start();
  const finishedAt = new Map<string, number>();
  const lags: number[] = [];
  const started = performance.now();
  let produced = 0;
  const producer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * RATE) - produced;
    for (let i = 0; i < due && performance.now() - started < LAG_SECONDS * 1000; i++) {
      const run: RunRecord = reportRun('2038-02', produced++ * 1000);
      temp.store.insertRun({ ...run, status: 'running', finished_at: null });
      temp.store.finishRun(run, [esOutboxEntry(run, undefined)]);
      finishedAt.set(run.id, performance.now());
      shipper.notify();
    }
  }, 5);
  const poll = async () => {
    const pending = [...finishedAt.keys()];
    if (pending.length === 0) return;
    const res = await esJson<{ hits: { hits: { _id: string }[] } }>(
      `${esUrl}/distcron-runs-2038.02/_search`,
      {
        method: 'POST',
        body: JSON.stringify({ size: pending.length, _source: false, query: { ids: { values: pending } } }),
      },
    ).catch(() => ({ hits: { hits: [] } }));
    const now = performance.now();
    for (const hit of res.hits.hits) {
      lags.push(now - finishedAt.get(hit._id)!);
      finishedAt.delete(hit._id);
    }
  };
  while (performance.now() - started < LAG_SECONDS * 1000 + 30_000) {
    await poll();
    if (performance.now() - started > LAG_SECONDS * 1000 && finishedAt.size === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  clearInterval(producer);
  await shipper.close();
  temp.dispose();
  if (finishedAt.size > 0) throw new Error(`bench: ${finishedAt.size} runs never became searchable`);
  return { lags, achievedRate: produced / LAG_SECONDS };
}

async function main(): Promise<void> {
  const server = args['es-url'] ? null : await EsTestServer.launch({ version: args.version });
  const esUrl = args['es-url'] ?? server!.url;
  try {
    await esJson(`${esUrl}/distcron-runs-203*`, { method: 'DELETE' }).catch(() => undefined);
    const rates: number[] = [];
    for (let r = 0; r < Number(args.rounds); r++)
      rates.push(await shipBacklog(esUrl, `2036-${String(r + 1).padStart(2, '0')}`));
    const naive = await naiveIndexing(esUrl, Number(args.naive));
    const { lags, achievedRate } = await steadyLag(esUrl);
    const sortedLags = [...lags].sort((a, b) => a - b);
    const shipped = median(rates);
    console.log(
      `\nElasticsearch ${args.version ?? ''} at ${esUrl}; ${cpus().length} cores, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    console.log('\n| shipping (1 KB stdout per run) | runs | runs/s (median) | min | max | ratio |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    console.log(
      `| EsShipper bulk (${TUNING.batchSize} docs × ${TUNING.concurrency} in flight) | ${RUNS} × ${rates.length} | ${shipped.toFixed(0)} | ${Math.min(...rates).toFixed(0)} | ${Math.max(...rates).toFixed(0)} | ${(shipped / naive).toFixed(1)}× |`,
    );
    console.log(`| naive: one index request per run | ${args.naive} | ${naive.toFixed(0)} | | | 1.0× |`);
    console.log(
      `\n| lag at ${RATE} runs/s for ${LAG_SECONDS} s (finish → searchable) | runs | achieved runs/s | median ms | p99 ms | max ms |`,
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    console.log(
      `| EsShipper, notify() per run | ${lags.length} | ${achievedRate.toFixed(1)} | ${quantile(sortedLags, 0.5).toFixed(0)} | ${quantile(sortedLags, 0.99).toFixed(0)} | ${sortedLags.at(-1)!.toFixed(0)} |`,
    );
  } finally {
    await server?.close();
  }
}

await main();
