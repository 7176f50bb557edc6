/**
 * The API benchmark's data: N runs over J jobs in a SQLite file (through the real store, so the
 * schema and indexes are the product's), and F job files in jobs.d. Built once, then reused.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { jobName, lcg, syntheticRun, type HistorySpec } from '../synthetic-runs.js';

export { jobName };

export interface FixtureSpec {
  runs: number;
  jobs: number;
  jobFiles: number;
}

export interface Fixture {
  dir: string;
  jobsDir: string;
  nodesDir: string;
  dbPath: string;
  /** Run ids spread over the whole table, for GET /runs/:id. */
  sampleIds: string[];
}

const CHUNK = 50_000;
const SPAN_MS = 60 * 86_400_000;

/** A job file in the shapes operators write (cron, interval, fuzzy, manual), never due during a bench. */
function jobFile(j: number): object {
  const base = {
    description: `Synthetic job ${j} for the API benchmark`,
    owners: [{ name: 'Ops', email_address: 'ops@example.com' }],
    policy: { select: j % 7 === 0 ? 'all' : 'any', roles: [`role-${j % 20}`] },
    command: ['/usr/local/bin/task', `--id=${j}`],
    timeout: '30m',
    tags: [`team-${j % 10}`, j % 3 === 0 ? 'backup' : 'report'],
  };
  const schedules = [
    { cron: '0 3 1 1 *', timezone: 'Europe/Berlin' },
    '0 4 1 1 *',
    '@manual',
    { at: '2031-01-01T00:00:00Z' },
  ];
  return { ...base, schedule: schedules[j % schedules.length] };
}

function writeRuns(dbPath: string, spec: FixtureSpec): string[] {
  const store = openSqliteStore({ path: dbPath });
  const random = lcg(42);
  const history: HistorySpec = {
    runs: spec.runs,
    jobs: spec.jobs,
    start: Date.now() - SPAN_MS - 86_400_000,
    spanMs: SPAN_MS,
    stdoutRepeat: 1,
  };
  const sampleIds: string[] = [];
  try {
    for (let done = 0; done < spec.runs; done += CHUNK) {
      const chunk = Array.from({ length: Math.min(CHUNK, spec.runs - done) }, (_, k) =>
        syntheticRun(done + k, history, random),
      );
      store.importRuns(chunk);
      for (let k = 0; k < chunk.length; k += 997) sampleIds.push(chunk[k]!.id);
      process.stderr.write(`\r  runs ${done + chunk.length}/${spec.runs}`);
    }
    process.stderr.write('\n');
  } finally {
    store.close();
  }
  return sampleIds;
}

function writeConfig(fixture: Fixture, spec: FixtureSpec): void {
  mkdirSync(fixture.jobsDir, { recursive: true });
  mkdirSync(fixture.nodesDir, { recursive: true });
  for (let n = 0; n < 20; n++)
    writeFileSync(
      join(fixture.nodesDir, `node-${n}.json`),
      JSON.stringify({ roles: [`role-${n}`], connection_type: 'local' }),
    );
  for (let j = 0; j < spec.jobFiles; j++)
    writeFileSync(join(fixture.jobsDir, `${jobName(j)}.json`), JSON.stringify(jobFile(j), null, 2));
}

/** Builds the fixture under `dir`, or reuses the one already there when it has the same spec. */
export function ensureFixture(dir: string, spec: FixtureSpec): Fixture {
  const fixture: Fixture = {
    dir,
    jobsDir: join(dir, 'jobs.d'),
    nodesDir: join(dir, 'nodes.d'),
    dbPath: join(dir, 'distcron.db'),
    sampleIds: [],
  };
  const marker = join(dir, 'fixture.json');
  if (existsSync(marker)) {
    const saved = JSON.parse(readFileSync(marker, 'utf8')) as { spec: FixtureSpec; sampleIds: string[] };
    if (JSON.stringify(saved.spec) === JSON.stringify(spec))
      return { ...fixture, sampleIds: saved.sampleIds };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`building the fixture in ${dir} (${spec.runs} runs, ${spec.jobFiles} job files)\n`);
  writeConfig(fixture, spec);
  fixture.sampleIds = writeRuns(fixture.dbPath, spec);
  writeFileSync(marker, JSON.stringify({ spec, sampleIds: fixture.sampleIds }));
  return fixture;
}
