import { expect } from 'chai';
import { parseJobText } from '../../../src/config/index.js';
import { parseResourceText } from '../../../src/config/parse-resources.js';
import { ConfigTable } from '../../../src/config/table.js';

const OPTS = { defaultTimezone: 'UTC' };
const job = (extra: object) =>
  JSON.stringify({ policy: { hosts: ['db1'] }, command: ['/bin/true'], ...extra }, null, 2);

describe('config: resource pools (resources.d) and jobs\' "resources"', () => {
  it('reads a pool with a capacity, a per-minute rate or both', () => {
    expect(parseResourceText('resources.d/db-conn.json', '{"capacity": 2}').pool).to.deep.equal({
      name: 'db-conn',
      file: 'resources.d/db-conn.json',
      capacity: 2,
    });
    const both = parseResourceText('r/api.json', '{"per_minute": 10, "capacity": 1}').pool;
    expect(both).to.include({ name: 'api', perMinute: 10, capacity: 1 });
  });

  it('refuses a negative capacity, naming the file, the place and the allowed range', () => {
    const { pool, problems } = parseResourceText('resources.d/db.json', '{\n  "capacity": -1\n}');
    expect(pool).to.equal(undefined);
    expect(problems).to.deep.equal([
      {
        file: 'resources.d/db.json',
        line: 2,
        column: 15,
        path: '$.capacity',
        message: '"capacity" must be from 1 to 1000000, not -1',
        severity: 'error',
      },
    ]);
  });

  it('refuses unknown fields and a pool with neither limit', () => {
    const typo = parseResourceText('r/db.json', '{"capacty": 2}').problems.map((p) => p.message);
    expect(typo).to.include('unknown field "capacty" — did you mean "capacity"?');
    expect(typo.join('\n')).to.match(/a pool needs "capacity".*"per_minute"/);
  });

  it("reads a job's resources, per-host keys and resource_wait", () => {
    const parsed = parseJobText(
      'jobs.d/dump.json',
      job({ resources: { 'db-conn': 1, 'nightly-io@{node}': 2 }, resource_wait: '10m' }),
      OPTS,
    );
    expect(parsed.problems).to.deep.equal([]);
    expect(parsed.job!.resources).to.deep.equal([
      { pool: 'db-conn', perNode: false, amount: 1 },
      { pool: 'nightly-io', perNode: true, amount: 2 },
    ]);
    expect(parsed.job!.resourceWaitMs).to.equal(600_000);
  });

  it('refuses a bad pool key or amount in a job, at its place', () => {
    const { job: def, problems } = parseJobText(
      'jobs.d/x.json',
      job({ resources: { '../etc': 1, ok: 0 } }),
      OPTS,
    );
    expect(def).to.equal(undefined);
    expect(problems.map((p) => [p.path, p.message])).to.deep.equal([
      [
        '$.resources["../etc"]',
        'resource "../etc": pool name must not start with "."; write a pool name (resources.d/<pool>.json), or "<pool>@{node}" for one pool per host',
      ],
      ['$.resources.ok', '"ok" must be from 1 to 1000000, not 0'],
    ]);
  });

  describe('in a snapshot', () => {
    function table(): ConfigTable {
      const t = new ConfigTable('UTC');
      t.update('node', 'nodes.d/db1.json', { ok: true, text: '{"connection_type": "local"}' });
      t.update('resource', 'resources.d/db-conn.json', { ok: true, text: '{"capacity": 1}' });
      return t;
    }

    it('lists the pools, and a job naming an unknown pool as an error of that job only', () => {
      const t = table();
      t.update('job', 'jobs.d/good.json', { ok: true, text: job({ resources: { 'db-conn': 1 } }) });
      t.update('job', 'jobs.d/bad.json', { ok: true, text: job({ resources: { 'no-such': 1 } }) });
      const snapshot = t.snapshot();
      expect([...snapshot.resources.keys()]).to.deep.equal(['db-conn']);
      expect([...snapshot.jobs.keys()].sort()).to.deep.equal(['bad', 'good']);
      expect(snapshot.problems.map((p) => [p.file, p.path, p.severity])).to.deep.equal([
        ['jobs.d/bad.json', '$.resources["no-such"]', 'error'],
      ]);
      expect(snapshot.problems[0]!.message).to.match(/no resources\.d\/no-such\.json exists/);
    });

    it("clears the job's error once the pool appears, and keeps the last good pool while its file is broken", () => {
      const t = table();
      t.update('job', 'jobs.d/j.json', { ok: true, text: job({ resources: { later: 1 } }) });
      expect(t.publish().snapshot.problems).to.have.length(1);
      t.update('resource', 'resources.d/later.json', { ok: true, text: '{"per_minute": 3}' });
      const { snapshot, diff } = t.publish();
      expect(snapshot.problems).to.deep.equal([]);
      expect(diff.resources!.added).to.deep.equal(['later']);

      t.update('resource', 'resources.d/db-conn.json', { ok: true, text: '{"capacity": -3}' });
      const after = t.publish().snapshot;
      expect(after.resources.get('db-conn')!.capacity).to.equal(1);
      expect(after.problems.map((p) => p.path)).to.deep.equal(['$.capacity']);
    });

    it('refuses an amount larger than the pool could ever give', () => {
      const t = table();
      t.update('job', 'jobs.d/big.json', { ok: true, text: job({ resources: { 'db-conn': 2 } }) });
      expect(t.snapshot().problems.map((p) => p.message)).to.deep.equal([
        '"resources" asks for 2 of pool "db-conn", whose capacity is 1',
      ]);
    });
  });
});
