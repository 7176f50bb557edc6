/**
 * Elasticsearch shipping benchmark against a real server (the test harness's integ-test-zip):
 *  1. throughput: a backlog of runs with 1 KB of stdout each, shipped by EsShipper (bulk), after
 *     unmeasured warm-up rounds (a long-running cluster has its JIT warm; a fresh one does not);
 *     CPU per run is reported for both processes, the figure least disturbed by other load;
 *  2. a naive baseline: one index request per run (no peer tool exists to compare with);
 *  3. lag at a steady rate: runs finished through the store at --rate per second for
 *     --lag-seconds; lag = finish (outbox commit) → the document is searchable (what Kibana sees).
 *
 *   npx tsx bench/report/shipping.ts [--runs 20000] [--rounds 3] [--warmup 300000] [--naive 2000]
 *                                    [--rate 100] [--lag-seconds 60] [--es-url http://127.0.0.1:9200]
 *                                    [--version 9.5.3] [--heap-mb 2048] [--batch-size N] [--concurrency N]
 *
 * --heap-mb sizes the harness server's JVM heap (the test suites use 512 MB; Elasticsearch gives
 * 10% of the heap to its indexing buffer). Without --batch-size/--concurrency the shipper's own
 * defaults are measured.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client } from '@elastic/elasticsearch';
import type { RunRecord } from '../../src/core/types.js';
import { indexFor, runToDocument } from '../../src/report/document.js';
import { esOutboxEntry } from '../../src/report/outbox.js';
import { ES_SHIPPER_DEFAULTS, EsShipper } from '../../src/report/shipper.js';
import { EsTestServer, ES_TEST_VERSIONS } from '../../test/harness/elasticsearch.js';
import {
  countIn,
  enqueueRuns,
  esJson,
  reportRun,
  tempStore,
  waitFor,
} from '../../test/integration/report/fixtures.js';
import { SqliteAsyncStore } from '../../src/store/sqlite-async.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    naive: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '100' },
    'lag-seconds': { type: 'string', default: '60' },
    'es-url': { type: 'string' },
    version: { type: 'string', default: ES_TEST_VERSIONS.v9 },
    warmup: { type: 'string', default: '300000' },
    'heap-mb': { type: 'string', default: '2048' },
    'batch-size': { type: 'string' },
    concurrency: { type: 'string' },
  },
});
const RUNS = Number(args.runs);
const RATE = Number(args.rate);
const LAG_SECONDS = Number(args['lag-seconds']);
const TUNING = {
  batchSize: args['batch-size'] === undefined ? undefined : Number(args['batch-size']),
  concurrency: args.concurrency === undefined ? undefined : Number(args.concurrency),
};
const TUNED = { ...ES_SHIPPER_DEFAULTS, ...definedOnly(TUNING) };

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** CPU milliseconds used so far by the process(es) whose command line names `marker`. */
function cpuMsOf(marker: string | null): number {
  if (marker === null) return NaN;
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended meanwhile.
    }
  }
  return ticks * 10; // USER_HZ = 100 on Linux
}

interface RoundResult {
  rate: number;
  nodeCpuUsPerRun: number;
  esCpuUsPerRun: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const median = (xs: number[]) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

/**
 * Unmeasured rounds first: a fresh JVM needs a few hundred thousand documents before its JIT has
 * compiled the indexing path (CPU per document falls several-fold over that), while a production
 * cluster is long warm. Without this the rounds measure the server's warm-up, not the shipper.
 */
async function warmUp(esUrl: string, runs: number, esMarker: string | null): Promise<void> {
  for (let done = 0, m = 1; done < runs; done += RUNS, m++) {
    const month = `2035-${String(Math.min(m, 12)).padStart(2, '0')}`;
    await shipBacklog(esUrl, month, Math.min(RUNS, runs - done), esMarker, false);
  }
}

/**
 * Ships a backlog of `runs` and times it until the last one is acknowledged. Completion is read
 * from the shipper's counter (no SQL count every few ms competing with the shipper's thread);
 * the outbox and the index are checked afterwards.
 */
async function shipBacklog(
  esUrl: string,
  month: string,
  runs: number,
  esMarker: string | null,
  checkIndex = true,
): Promise<RoundResult> {
  const temp = tempStore();
  enqueueRuns(
    temp.store,
    Array.from({ length: runs }, (_, i) => reportRun(month, i * 1000)),
  );
  const shipper = new EsShipper({
    store: new SqliteAsyncStore(temp.store),
    url: esUrl,
    ...definedOnly(TUNING),
  });
  const esCpu = cpuMsOf(esMarker);
  const cpu = process.cpuUsage();
  const started = performance.now();
  shipper.start();
  await waitFor(() => shipper.status().shipped >= runs, 600_000, 5);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const esCpuMs = cpuMsOf(esMarker) - esCpu;
  await shipper.close();
  const left = temp.store.outboxBacklog().elasticsearch;
  temp.dispose();
  if (left !== 0) throw new Error(`bench: ${left} runs left in the outbox of ${month}`);
  const stored = checkIndex ? await countIn(esUrl, `distcron-runs-${month.replace('-', '.')}`) : runs;
  if (stored !== runs) throw new Error(`bench: expected ${runs} documents in ${month}, found ${stored}`);
  return {
    rate: runs / seconds,
    nodeCpuUsPerRun: (used.user + used.system) / runs,
    esCpuUsPerRun: (esCpuMs * 1000) / runs,
  };
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
  const shipper = new EsShipper({ store: new SqliteAsyncStore(temp.store), url: esUrl });
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
  const heapMb = Number(args['heap-mb']);
  const server = args['es-url'] ? null : await EsTestServer.launch({ version: args.version, heapMb });
  const esUrl = args['es-url'] ?? server!.url;
  // The server's JVM runs with -Djava.io.tmpdir under the harness's per-server directory.
  const esMarker = server ? server.dir : null;
  try {
    await esJson(`${esUrl}/distcron-runs-203*`, { method: 'DELETE' }).catch(() => undefined);
    await warmUp(esUrl, Number(args.warmup), esMarker);
    const results: RoundResult[] = [];
    for (let r = 0; r < Number(args.rounds); r++)
      results.push(await shipBacklog(esUrl, `2036-${String(r + 1).padStart(2, '0')}`, RUNS, esMarker));
    const rates = results.map((r) => r.rate);
    const naive = await naiveIndexing(esUrl, Number(args.naive));
    const { lags, achievedRate } = await steadyLag(esUrl);
    const sortedLags = [...lags].sort((a, b) => a - b);
    const shipped = median(rates);
    const heap = server ? `, JVM heap ${heapMb} MB` : '';
    console.log(
      `\nElasticsearch ${args.version ?? ''} at ${esUrl}${heap}; ${cpus().length} cores, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}; warm-up of ${args.warmup} runs not counted`,
    );
    console.log(
      '\n| shipping (1 KB stdout per run) | runs | runs/s (median) | min | max | ratio | node CPU µs/run | ES CPU µs/run |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    console.log(
      `| EsShipper bulk (≤ ${TUNED.batchSize} docs, ≤ ${TUNED.batchBytes / 1048576} MB × ${TUNED.concurrency} in flight) | ${RUNS} × ${rates.length} | ${shipped.toFixed(0)} | ${Math.min(...rates).toFixed(0)} | ${Math.max(...rates).toFixed(0)} | ${(shipped / naive).toFixed(1)}× | ${median(results.map((r) => r.nodeCpuUsPerRun)).toFixed(0)} | ${median(results.map((r) => r.esCpuUsPerRun)).toFixed(0)} |`,
    );
    console.log(`| naive: one index request per run | ${args.naive} | ${naive.toFixed(0)} | | | 1.0× | | |`);
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
