import { expect } from 'chai';
import { compile, cronFires, fires, utc } from './fires.js';

const NOW = Date.parse('2026-11-26T10:00:00Z'); // a Thursday

function next(expression: string, from = NOW, timezone = 'UTC'): string | null {
  const at = compile({ kind: 'cron', expression, timezone }).nextAfter(from);
  return at === null ? null : new Date(at).toISOString();
}

describe('schedule: cron fields', () => {
  it('reads 6 fields as seconds first', () => {
    expect(cronFires('*/20 * * * * *', 'UTC', '2026-03-08T06:00:00Z', '2026-03-08T06:01:00Z')).to.deep.equal([
      '2026-03-08T06:00:20.000Z',
      '2026-03-08T06:00:40.000Z',
      '2026-03-08T06:01:00.000Z',
    ]);
    expect(
      cronFires('15,45 30 9 * * *', 'UTC', '2026-03-08T00:00:00Z', '2026-03-09T00:00:00Z'),
    ).to.deep.equal(['2026-03-08T09:30:15.000Z', '2026-03-08T09:30:45.000Z']);
  });

  it('returns the next whole-second instant strictly after a time with milliseconds', () => {
    expect(next('*/20 * * * * *', Date.parse('2026-03-08T06:00:20.500Z'))).to.equal(
      '2026-03-08T06:00:40.000Z',
    );
    expect(next('*/20 * * * * *', Date.parse('2026-03-08T06:00:20.000Z'))).to.equal(
      '2026-03-08T06:00:40.000Z',
    );
  });

  it('expands ranges, steps and lists', () => {
    expect(
      cronFires('5-20/5 */6 * * *', 'UTC', '2026-03-08T00:00:00Z', '2026-03-08T07:00:00Z'),
    ).to.deep.equal(
      utc(
        '2026-03-08T00:05',
        '2026-03-08T00:10',
        '2026-03-08T00:15',
        '2026-03-08T00:20',
        '2026-03-08T06:05',
        '2026-03-08T06:10',
        '2026-03-08T06:15',
        '2026-03-08T06:20',
      ),
    );
  });

  it('accepts month and weekday names', () => {
    expect(
      cronFires('0 9 * JAN,MAR MON-FRI', 'UTC', '2025-12-31T00:00:00Z', '2026-01-06T00:00:00Z'),
    ).to.deep.equal(utc('2026-01-01T09:00', '2026-01-02T09:00', '2026-01-05T09:00'));
    expect(next('0 9 * jan,mar mon-fri', Date.parse('2026-01-30T10:00:00Z'))).to.equal(
      '2026-03-02T09:00:00.000Z',
    );
  });

  it('treats weekday 7 as Sunday', () => {
    expect(next('0 0 * * 7')).to.equal('2026-11-29T00:00:00.000Z');
    expect(next('0 0 * * 0')).to.equal('2026-11-29T00:00:00.000Z');
  });

  it('expands every descriptor', () => {
    expect(next('@yearly')).to.equal('2027-01-01T00:00:00.000Z');
    expect(next('@annually')).to.equal('2027-01-01T00:00:00.000Z');
    expect(next('@monthly')).to.equal('2026-12-01T00:00:00.000Z');
    expect(next('@weekly')).to.equal('2026-11-29T00:00:00.000Z');
    expect(next('@daily')).to.equal('2026-11-27T00:00:00.000Z');
    expect(next('@midnight')).to.equal('2026-11-27T00:00:00.000Z');
    expect(next('@hourly')).to.equal('2026-11-26T11:00:00.000Z');
  });

  it('uses the timezone of the schedule, else the default timezone', () => {
    expect(next('0 9 * * *', NOW, 'Asia/Tokyo')).to.equal('2026-11-27T00:00:00.000Z');
    const schedule = compile('0 9 * * *', 'job', 'America/New_York');
    expect(new Date(schedule.nextAfter(NOW)!).toISOString()).to.equal('2026-11-26T14:00:00.000Z');
    expect(schedule.describe()).to.equal('cron 0 9 * * * (America/New_York)');
  });
});

describe('schedule: cron day matching (Vixie cron)', () => {
  it('fires on either day field when both are restricted', () => {
    // Fridays of January 2026 plus Tuesday the 13th.
    expect(cronFires('0 0 13 * FRI', 'UTC', '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z')).to.deep.equal(
      utc(
        '2026-01-02T00:00',
        '2026-01-09T00:00',
        '2026-01-13T00:00',
        '2026-01-16T00:00',
        '2026-01-23T00:00',
        '2026-01-30T00:00',
      ),
    );
  });

  it('requires both day fields when day-of-month starts with *', () => {
    // Days 1, 11, 21, 31 that are Mondays.
    expect(cronFires('0 0 */10 * MON', 'UTC', '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z')).to.deep.equal(
      utc('2026-05-11T00:00', '2026-06-01T00:00', '2026-08-31T00:00', '2026-09-21T00:00', '2026-12-21T00:00'),
    );
  });

  it('skips months that lack the day', () => {
    expect(cronFires('0 0 31 * *', 'UTC', '2026-01-01T00:00:00Z', '2026-06-01T00:00:00Z')).to.deep.equal(
      utc('2026-01-31T00:00', '2026-03-31T00:00', '2026-05-31T00:00'),
    );
  });

  it('fires on 29 February only in leap years', () => {
    expect(cronFires('0 0 29 2 *', 'UTC', '2026-01-01T00:00:00Z', '2037-01-01T00:00:00Z')).to.deep.equal(
      utc('2028-02-29T00:00', '2032-02-29T00:00', '2036-02-29T00:00'),
    );
    expect(next('0 0 29 2 *', Date.parse('2097-01-01T00:00:00Z'))).to.equal('2104-02-29T00:00:00.000Z');
  });

  it('returns null for a day that never exists instead of searching forever', () => {
    expect(next('0 0 30 2 *')).to.equal(null);
    expect(next('0 0 31 4,6,9,11 *')).to.equal(null);
  });
});

describe('schedule: @every and @manual', () => {
  it('fires @every at multiples of the interval since the Unix epoch', () => {
    const schedule = compile('@every 5m');
    expect(fires(schedule, '2026-11-26T10:02:30Z', '2026-11-26T10:15:00Z')).to.deep.equal(
      utc('2026-11-26T10:05', '2026-11-26T10:10', '2026-11-26T10:15'),
    );
    expect(schedule.describe()).to.equal('every 5m');
  });

  it('gives the same instants for @every in a cron string and as an every spec', () => {
    const fromString = compile('@every 90m');
    const fromSpec = compile({ kind: 'every', intervalMs: 90 * 60_000 });
    const first = fromString.nextAfter(NOW)!;
    expect(first % (90 * 60_000)).to.equal(0);
    expect(fromSpec.nextAfter(NOW)).to.equal(first);
    expect(first - NOW)
      .to.be.greaterThan(0)
      .and.at.most(90 * 60_000);
  });

  it('never fires @manual', () => {
    const schedule = compile('@manual');
    expect(schedule.nextAfter(NOW)).to.equal(null);
    expect(compile({ kind: 'manual' }).nextAfter(0)).to.equal(null);
    expect(schedule.describe()).to.equal('manual');
  });
});

describe('schedule: one-off at', () => {
  const at = Date.parse('2026-12-01T10:00:00Z');

  it('fires once at the instant and never again', () => {
    const schedule = compile({ kind: 'at', at });
    expect(schedule.nextAfter(NOW)).to.equal(at);
    expect(schedule.nextAfter(at - 1)).to.equal(at);
    expect(schedule.nextAfter(at)).to.equal(null);
    expect(schedule.nextAfter(at + 1)).to.equal(null);
    expect(schedule.describe()).to.equal('at 2026-12-01T10:00:00.000Z');
  });
});

describe('schedule: describe()', () => {
  it('names the expression, its expansion and the timezone', () => {
    expect(
      compile({ kind: 'cron', expression: '30 2 * * *', timezone: 'Europe/Berlin' }).describe(),
    ).to.equal('cron 30 2 * * * (Europe/Berlin)');
    expect(compile('@hourly').describe()).to.equal('cron @hourly = 0 * * * * (UTC)');
    expect(compile('*/20 * * * * *').describe()).to.equal('cron */20 * * * * * (UTC)');
    expect(compile({ kind: 'fuzzy', period: 'hourly' }, 'backup-db').describe()).to.match(
      /^fuzzy hourly: \+00:\d\d:\d\d into each period$/,
    );
  });
});

describe('schedule: instants outside the supported range', () => {
  it('answers null instead of searching from NaN or infinity', () => {
    for (const t of [Number.NaN, Infinity, 8.64e15]) {
      expect(compile('*/5 * * * *').nextAfter(t)).to.equal(null);
      expect(compile({ kind: 'fuzzy', period: 'daily', timezone: 'Europe/Berlin' }).nextAfter(t)).to.equal(
        null,
      );
    }
  });
});
