/**
 * Store query benchmark: fills a SQLite file with 1,000,000 runs over 1,000 jobs, then times the
 * store calls behind the REST API's list and detail routes and prints median / p99 per query.
 *
 *   npx tsx bench/store/query.ts [--rows 1000000] [--jobs 1000] [--db /tmp/distcron-bench/runs.db]
 *                                [--reuse] [--iterations 2000]
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { isoUtc } from '../../src/core/types.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.js';
import type { RunFilter } from '../../src/store/store.js';
import { jobName, lcg, syntheticRun, type HistorySpec } from '../synthetic-runs.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    jobs: { type: 'string', default: '1000' },
    db: { type: 'string', default: '/tmp/distcron-bench/runs.db' },
    reuse: { type: 'boolean', default: false },
    iterations: { type: 'string', default: '2000' },
    /** Lines of ~40 bytes of stdout per run (rounded up to pairs); large outputs spill to overflow pages. */
    'output-lines': { type: 'string', default: '4' },
    /** Finish with timed retention batches (deletes the oldest runs of the file). */
    prune: { type: 'boolean', default: false },
  },
});

const ROWS = Number(args.rows);
const JOBS = Number(args.jobs);
const ITERATIONS = Number(args.iterations);
const OUTPUT_LINES = Number(args['output-lines']);
const CHUNK = 50_000;
const SPAN_MS = 90 * 86_400_000; // the default retention
const START = Date.parse('2026-08-28T00:00:00.000Z');

const random = lcg(42);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const HISTORY: HistorySpec = {
  runs: ROWS,
  jobs: JOBS,
  start: START,
  spanMs: SPAN_MS,
  stdoutRepeat: Math.ceil(OUTPUT_LINES / 2),
};

function fill(store: SqliteStore): number {
  const started = performance.now();
  for (let done = 0; done < ROWS; done += CHUNK) {
    const count = Math.min(CHUNK, ROWS - done);
    store.importRuns(Array.from({ length: count }, (_, k) => syntheticRun(done + k, HISTORY, random)));
    process.stdout.write(`\rfilled ${done + count} / ${ROWS}`);
  }
  process.stdout.write('\n');
  return (performance.now() - started) / 1000;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Row {
  name: string;
  median: number;
  p99: number;
  /** CPU time of this process: on a busy machine, wall-time tails include waiting for a core. */
  cpuMedian: number;
  cpuP99: number;
  rows: number;
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function measure(name: string, call: () => number, iterations = ITERATIONS, warmup = 50): Row {
  for (let i = 0; i < warmup; i++) call(); // warm the page cache and the statement cache
  const times: number[] = [];
  const cpu: number[] = [];
  let rows = 0;
  for (let i = 0; i < iterations; i++) {
    const [started, cpuStarted] = [performance.now(), cpuMs()];
    rows += call();
    times.push(performance.now() - started);
    cpu.push(cpuMs() - cpuStarted);
  }
  [times, cpu].forEach((list) => list.sort((a, b) => a - b));
  return {
    name,
    median: percentile(times, 50),
    p99: percentile(times, 99),
    cpuMedian: percentile(cpu, 50),
    cpuP99: percentile(cpu, 99),
    rows: rows / iterations,
  };
}

function sampleIds(store: SqliteStore): string[] {
  const ids: string[] = [];
  for (let j = 0; j < 200; j++) {
    ids.push(
      ...store.queryRuns({ job: jobName(Math.floor(random() * JOBS)), limit: 20 }).runs.map((r) => r.id),
    );
  }
  return ids;
}

function day(offsetDays: number): string {
  return isoUtc(START + offsetDays * 86_400_000);
}

function scenarios(store: SqliteStore, ids: string[]): [string, () => number][] {
  const q = (filter: RunFilter) => store.queryRuns(filter).runs.length;
  const anyJob = () => jobName(Math.floor(random() * JOBS));
  const pageTwo = (filter: RunFilter) => {
    const first = store.queryRuns(filter);
    return first.nextCursor ? q({ ...filter, cursor: first.nextCursor }) : 0;
  };
  return [
    ["queryRuns({job, status:'failed', limit:50})", () => q({ job: anyJob(), status: 'failed', limit: 50 })],
    ['getRun(id) with output', () => (store.getRun(pick(ids)) ? 1 : 0)],
    ['queryRuns({job, limit:50})', () => q({ job: anyJob(), limit: 50 })],
    ['queryRuns({limit:50})', () => q({ limit: 50 })],
    ["queryRuns({status:'failed', limit:50})", () => q({ status: 'failed', limit: 50 })],
    ['queryRuns({node, limit:50})', () => q({ node: `node-${Math.floor(random() * 50)}`, limit: 50 })],
    ["queryRuns({trigger:'manual', limit:50})", () => q({ trigger: 'manual', limit: 50 })],
    ['queryRuns({since, until: 1 day, limit:50})', () => q({ since: day(40), until: day(41), limit: 50 })],
    ['queryRuns({since: last 24 h, limit:50})', () => q({ since: day(89), limit: 50 })],
    ['queryRuns({since, until: 7 days, limit:50})', () => q({ since: day(40), until: day(47), limit: 50 })],
    [
      "queryRuns({job, since: 7 days, status:'failed'})",
      () => q({ job: anyJob(), since: day(83), status: 'failed', limit: 50 }),
    ],
    ['page 2 of queryRuns({job, limit:50}) (2 calls)', () => pageTwo({ job: anyJob(), limit: 50 })],
    ['queryRuns({limit:50, withOutput:true})', () => q({ limit: 50, withOutput: true })],
    ['countRunning(job)', () => store.countRunning(anyJob())],
  ];
}

/** Retention as the daemon runs it: batches of 500 of the oldest runs (no warm-up: it deletes). */
function measurePrune(store: SqliteStore): Row {
  const cutoff = START + 30 * 86_400_000;
  return measure('pruneRuns(before, 500)', () => store.pruneRuns(cutoff, 500), 40, 0);
}

function printTable(rows: Row[]): void {
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(`${'call'.padEnd(width)}  median ms     p99 ms  cpu median    cpu p99   rows/call`);
  for (const r of rows) {
    const ms = [r.median, r.p99, r.cpuMedian, r.cpuP99].map((v, i) =>
      v.toFixed(3).padStart(i === 0 ? 9 : 10),
    );
    const cells = [...ms, r.rows.toFixed(1).padStart(11)];
    console.log(`${r.name.padEnd(width)}  ${cells.join(' ')}`);
  }
}

function main(): void {
  const reuse = args.reuse && existsSync(args.db);
  if (!reuse) rmSync(args.db, { force: true });
  let store = openSqliteStore({ path: args.db });
  if (!reuse) {
    const seconds = fill(store);
    console.log(
      `fill: ${ROWS} runs over ${JOBS} jobs in ${seconds.toFixed(1)} s (${Math.round(ROWS / seconds)} rows/s)`,
    );
    store.close(); // checkpoints the WAL and runs PRAGMA optimize, as the daemon's shutdown does
    store = openSqliteStore({ path: args.db });
  }
  console.log(
    `file: ${(statSync(args.db).size / 2 ** 20).toFixed(0)} MiB, ${ITERATIONS} iterations per call`,
  );
  const load = loadavg().map((l) => l.toFixed(1));
  console.log(`load average at start: ${load.join(' ')} on ${cpus().length} cores\n`);
  const ids = sampleIds(store);
  const rows = scenarios(store, ids).map(([name, call]) => measure(name, call));
  if (args.prune) rows.push(measurePrune(store));
  printTable(rows);
  store.close();
}

main();
