import { expect } from 'chai';
import { compile, cronFires, utc } from './fires.js';

// 2026 transitions: Berlin 03-29 01:00Z (02:00 CET → 03:00 CEST) and 10-25 01:00Z (03:00 CEST → 02:00 CET);
// New York 03-08 07:00Z (02:00 EST → 03:00 EDT) and 11-01 06:00Z (02:00 EDT → 01:00 EST).

describe('schedule: cron across DST in Europe/Berlin', () => {
  const tz = 'Europe/Berlin';

  it('runs a fixed-time job in the skipped hour once, right after the spring-forward jump', () => {
    expect(cronFires('30 2 * * *', tz, '2026-03-27T00:00:00Z', '2026-03-31T00:00:00Z')).to.deep.equal(
      utc('2026-03-27T01:30', '2026-03-28T01:30', '2026-03-29T01:00', '2026-03-30T00:30'),
    );
  });

  it('runs a fixed-time job with several skipped times only once at the transition', () => {
    expect(cronFires('0,30 2 * * *', tz, '2026-03-28T23:00:00Z', '2026-03-29T23:00:00Z')).to.deep.equal(
      utc('2026-03-29T01:00'),
    );
  });

  it('runs a fixed-time job in the repeated hour only on its first occurrence after fall-back', () => {
    expect(cronFires('30 2 * * *', tz, '2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z')).to.deep.equal(
      utc('2026-10-24T00:30', '2026-10-25T00:30', '2026-10-26T01:30'),
    );
  });

  it('does not repeat a fixed-time job when asked from inside the second pass of the repeated hour', () => {
    const schedule = compile({ kind: 'cron', expression: '30 2 * * *', timezone: tz });
    expect(new Date(schedule.nextAfter(Date.parse('2026-10-25T01:10:00Z'))!).toISOString()).to.equal(
      '2026-10-26T01:30:00.000Z',
    );
  });

  it('keeps an hourly wildcard job firing every real hour across spring-forward', () => {
    expect(cronFires('30 * * * *', tz, '2026-03-28T23:00:00Z', '2026-03-29T03:00:00Z')).to.deep.equal(
      utc('2026-03-28T23:30', '2026-03-29T00:30', '2026-03-29T01:30', '2026-03-29T02:30'),
    );
  });

  it('fires an hourly wildcard job twice over the repeated hour after fall-back', () => {
    // Local 01:30 CEST, 02:30 CEST, 02:30 CET, 03:30 CET.
    expect(cronFires('30 * * * *', tz, '2026-10-24T23:00:00Z', '2026-10-25T03:00:00Z')).to.deep.equal(
      utc('2026-10-24T23:30', '2026-10-25T00:30', '2026-10-25T01:30', '2026-10-25T02:30'),
    );
  });

  it('continues a */15 job on the new local time after spring-forward', () => {
    // Local 01:45 CET, then 03:00, 03:15, 03:30 CEST.
    expect(cronFires('*/15 * * * *', tz, '2026-03-29T00:30:00Z', '2026-03-29T01:30:00Z')).to.deep.equal(
      utc('2026-03-29T00:45', '2026-03-29T01:00', '2026-03-29T01:15', '2026-03-29T01:30'),
    );
  });

  it('repeats a */15 job through the repeated hour after fall-back', () => {
    const list = cronFires('*/15 * * * *', tz, '2026-10-25T00:00:00Z', '2026-10-25T02:00:00Z');
    expect(list).to.have.length(8);
    expect(list[0]).to.equal('2026-10-25T00:15:00.000Z');
    expect(list.at(-1)).to.equal('2026-10-25T02:00:00.000Z');
  });

  it('treats a wildcard minute in a fixed hour as a wildcard job: skipped in the gap, twice in the fold', () => {
    expect(cronFires('*/30 2 * * *', tz, '2026-03-28T23:00:00Z', '2026-03-29T23:00:00Z')).to.deep.equal([]);
    expect(cronFires('*/30 2 * * *', tz, '2026-10-24T23:00:00Z', '2026-10-25T23:00:00Z')).to.deep.equal(
      utc('2026-10-25T00:00', '2026-10-25T00:30', '2026-10-25T01:00', '2026-10-25T01:30'),
    );
  });
});

describe('schedule: cron across DST in America/New_York', () => {
  const tz = 'America/New_York';

  it('runs 30 2 * * * at the spring-forward instant on the day 02:30 does not exist', () => {
    expect(cronFires('30 2 * * *', tz, '2026-03-07T00:00:00Z', '2026-03-10T00:00:00Z')).to.deep.equal(
      utc('2026-03-07T07:30', '2026-03-08T07:00', '2026-03-09T06:30'),
    );
  });

  it('runs 30 1 * * * once on the fall-back day, at the first 01:30 (EDT)', () => {
    expect(cronFires('30 1 * * *', tz, '2026-10-31T00:00:00Z', '2026-11-03T00:00:00Z')).to.deep.equal(
      utc('2026-10-31T05:30', '2026-11-01T05:30', '2026-11-02T06:30'),
    );
  });

  it('runs 30 2 * * * normally on the fall-back day (02:30 EST happens once)', () => {
    expect(cronFires('30 2 * * *', tz, '2026-10-31T12:00:00Z', '2026-11-02T00:00:00Z')).to.deep.equal(
      utc('2026-11-01T07:30'),
    );
  });

  it('keeps 30 * * * * on every real hour across spring-forward and fall-back', () => {
    expect(cronFires('30 * * * *', tz, '2026-03-08T05:00:00Z', '2026-03-08T09:00:00Z')).to.deep.equal(
      utc('2026-03-08T05:30', '2026-03-08T06:30', '2026-03-08T07:30', '2026-03-08T08:30'),
    );
    // Local 00:30 EDT, 01:30 EDT, 01:30 EST, 02:30 EST.
    expect(cronFires('30 * * * *', tz, '2026-11-01T04:00:00Z', '2026-11-01T08:00:00Z')).to.deep.equal(
      utc('2026-11-01T04:30', '2026-11-01T05:30', '2026-11-01T06:30', '2026-11-01T07:30'),
    );
  });

  it('follows the new local time with */15 over the fall-back', () => {
    // Local 01:45 EDT, then 01:00, 01:15, 01:30 EST.
    expect(cronFires('*/15 * * * *', tz, '2026-11-01T05:30:00Z', '2026-11-01T06:30:00Z')).to.deep.equal(
      utc('2026-11-01T05:45', '2026-11-01T06:00', '2026-11-01T06:15', '2026-11-01T06:30'),
    );
  });

  it('treats @hourly as a wildcard job over the spring-forward', () => {
    expect(cronFires('@hourly', tz, '2026-03-08T05:30:00Z', '2026-03-08T08:30:00Z')).to.deep.equal(
      utc('2026-03-08T06:00', '2026-03-08T07:00', '2026-03-08T08:00'),
    );
  });
});
