import BetterSqlite3 from 'better-sqlite3';
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { REFERENCE_TIME } from '../../harness/runs.js';
import { TempStore } from './temp-store.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./claim-race.child.ts', import.meta.url));
const FIRES = 300;

describe('SQLite store: two processes claiming the same fires', function () {
  this.timeout(60_000);
  let temp: TempStore;

  beforeEach(() => (temp = new TempStore()));
  afterEach(() => temp.cleanup());

  it('runs each fire exactly once when two processes race on one database file', async () => {
    temp.open().close(); // create the schema first, so both children only contend on claims
    const goAt = String(Date.now() + 5000);
    const child = () =>
      run(process.execPath, [
        '--import',
        'tsx',
        CHILD,
        temp.path,
        String(FIRES),
        String(REFERENCE_TIME),
        goAt,
      ]);
    const results = await Promise.all([child(), child()]);
    const wins = results.map((r) => Number(r.stdout.trim()));

    expect(wins[0]! + wins[1]!).to.equal(FIRES);
    const db = new BetterSqlite3(temp.path, { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) FROM runs').pluck().get()).to.equal(FIRES);
      expect(db.prepare('SELECT count(DISTINCT scheduled_at) FROM runs').pluck().get()).to.equal(FIRES);
    } finally {
      db.close();
    }
  });
});
