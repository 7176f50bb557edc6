import { expect } from 'chai';
import { parseCron } from '../../../src/schedule/cron-parse.js';
import { compileSchedule } from '../../../src/schedule/index.js';
import { compile, fires } from './fires.js';

const NOW = Date.parse('2026-11-26T00:00:00Z');
const NAMES = Array.from({ length: 300 }, (_, i) => `job-${i}`);

function firstFire(expression: string, jobName: string): Date {
  return new Date(compile(expression, jobName).nextAfter(NOW)!);
}

describe('schedule: H tokens', () => {
  it('picks the same minute and hour for a given job name in every compile (sha256, not a per-process seed)', () => {
    // Hard-coded: if this changes, every deployed H schedule moves. Only change it on purpose.
    expect(compile('H H * * *', 'backup-db').describe()).to.equal('cron H H * * * = 50 15 * * * (UTC)');
    expect(compile('H H * * *', 'backup-db').nextAfter(NOW)).to.equal(Date.parse('2026-11-26T15:50:00Z'));
    expect(compile('H H H * * *', 'backup-db').describe()).to.equal(
      'cron H H H * * * = 48 50 15 * * * (UTC)',
    );
  });

  it('uses the name digest passed with a job (from the config reader) for that compile only', () => {
    // Bytes 0-4 of this digest are 0, so H picks minute 0 and hour 0 when it is used.
    const zeros = '0'.repeat(64);
    const given = compileSchedule(
      { kind: 'cron', expression: 'H H * * *' },
      { jobName: 'offered-job', defaultTimezone: 'UTC', nameDigest: zeros },
    );
    expect(given.describe()).to.equal('cron H H * * * = 0 0 * * * (UTC)');
    expect(compile('H H * * *', 'another-job').describe()).to.not.equal('cron H H * * * = 0 0 * * * (UTC)');
    expect(compile('H H * * *', 'backup-db').describe()).to.equal('cron H H * * * = 50 15 * * * (UTC)');
  });

  it('reports a bad field of an H expression for every job that uses it, not only the first', () => {
    for (const job of ['first', 'second'])
      expect(() => parseCron('H 99 * * *', job)).to.throw(/hour field "99"/);
    for (const job of ['first', 'second'])
      expect(() => parseCron('H H * *', job)).to.throw(/expected 5 fields .* got 4/);
  });

  it('keeps H/n a wildcard (Debian DST rules) even where a literal range expands the same', () => {
    const hashed = parseCron('H/15 2 * * *', 'a');
    if (hashed.kind !== 'cron') throw new Error('expected a cron program');
    const literal = parseCron(`${hashed.program.fields[1]} 2 * * *`, 'b');
    if (literal.kind !== 'cron') throw new Error('expected a cron program');
    expect(literal.program.fields).to.deep.equal(hashed.program.fields);
    expect(hashed.program.fixedTime).to.equal(false);
    expect(literal.program.fixedTime).to.equal(true);
  });

  it('keeps plain H within the field range and spreads it across job names', () => {
    const minutes = new Set<number>();
    const hours = new Set<number>();
    for (const name of NAMES) {
      const at = firstFire('H H * * *', name);
      expect(at.getUTCMinutes()).to.be.within(0, 59);
      expect(at.getUTCHours()).to.be.within(0, 23);
      minutes.add(at.getUTCMinutes());
      hours.add(at.getUTCHours());
    }
    expect(minutes.size).to.be.greaterThan(45);
    expect(hours.size).to.equal(24);
  });

  it('keeps H(a-b) inside the given range', () => {
    const hours = new Set<number>();
    for (const name of NAMES) hours.add(firstFire('0 H(1-5) * * *', name).getUTCHours());
    expect([...hours].sort()).to.deep.equal([1, 2, 3, 4, 5]);
  });

  it('expands H/n to every n-th value from a hashed start below n', () => {
    for (const name of NAMES.slice(0, 50)) {
      const minutes = fires(
        compile('H/15 * * * *', name),
        '2026-11-25T23:59:59Z',
        '2026-11-26T00:59:59Z',
      ).map((iso) => new Date(iso).getUTCMinutes());
      expect(minutes).to.have.length(4);
      expect(minutes[0]).to.be.below(15);
      expect(minutes.map((m) => m - minutes[0]!)).to.deep.equal([0, 15, 30, 45]);
    }
  });

  it('expands H(a-b)/n within the range', () => {
    const list = fires(
      compile('H(0-29)/10 3 * * *', 'backup-db'),
      '2026-11-26T00:00:00Z',
      '2026-11-27T00:00:00Z',
    );
    expect(list).to.deep.equal([
      '2026-11-26T03:08:00.000Z',
      '2026-11-26T03:18:00.000Z',
      '2026-11-26T03:28:00.000Z',
    ]);
  });

  it('keeps H in day-of-month at 28 or below so it fires every month', () => {
    for (const name of NAMES) expect(firstFire('0 0 H * *', name).getUTCDate()).to.be.within(1, 28);
  });

  it('supports H in the seconds field of a 6-field expression', () => {
    const seconds = new Set(NAMES.map((name) => firstFire('H * * * * *', name).getUTCSeconds()));
    expect(seconds.size).to.be.greaterThan(45);
  });

  it('treats H/n like */n for DST: an H/15 job follows the new local time', () => {
    const schedule = compile(
      { kind: 'cron', expression: 'H/15 * * * *', timezone: 'Europe/Berlin' },
      'backup-db',
    );
    // backup-db → minutes 12,27,42,57; spring-forward at 01:00Z: 01:57 CET, then 03:12 CEST.
    expect(fires(schedule, '2026-03-29T00:50:00Z', '2026-03-29T01:20:00Z')).to.deep.equal([
      '2026-03-29T00:57:00.000Z',
      '2026-03-29T01:12:00.000Z',
    ]);
  });
});
