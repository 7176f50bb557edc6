import { expect } from 'chai';
import { compile, fires, utc } from './fires.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('schedule: interval with reference', () => {
  it('fires at the reference and every interval after it', () => {
    const schedule = compile({ kind: 'interval', intervalMs: 10 * MINUTE, reference: '03:10' });
    expect(fires(schedule, '2026-11-26T03:05:00Z', '2026-11-26T03:30:00Z')).to.deep.equal(
      utc('2026-11-26T03:10', '2026-11-26T03:20', '2026-11-26T03:30'),
    );
  });

  it('also fires before the reference time of the day (negative k)', () => {
    const schedule = compile({ kind: 'interval', intervalMs: 40 * MINUTE, reference: '03:10' });
    expect(fires(schedule, '2026-11-26T01:00:00Z', '2026-11-26T03:10:00Z')).to.deep.equal(
      utc('2026-11-26T01:10', '2026-11-26T01:50', '2026-11-26T02:30', '2026-11-26T03:10'),
    );
  });

  it('continues across midnight with exact spacing', () => {
    const schedule = compile({ kind: 'interval', intervalMs: 90 * MINUTE, reference: '23:45' });
    expect(fires(schedule, '2026-11-26T21:00:00Z', '2026-11-27T03:00:00Z')).to.deep.equal(
      utc('2026-11-26T22:15', '2026-11-26T23:45', '2026-11-27T01:15', '2026-11-27T02:45'),
    );
  });

  it('keeps exact spacing for intervals that do not divide a day, anchored on 1970-01-01', () => {
    const schedule = compile({ kind: 'interval', intervalMs: 7 * HOUR, reference: '03:10:30' });
    const list = fires(schedule, '2026-11-26T00:00:00Z', '2026-11-30T00:00:00Z').map(Date.parse);
    expect(list).to.have.length.greaterThan(10);
    for (const at of list) expect((at - Date.UTC(1970, 0, 1, 3, 10, 30)) % (7 * HOUR)).to.equal(0);
    for (let i = 1; i < list.length; i++) expect(list[i]! - list[i - 1]!).to.equal(7 * HOUR);
  });

  it('reads the reference in the standard time of its timezone and keeps real spacing across DST', () => {
    const schedule = compile({
      kind: 'interval',
      intervalMs: 6 * HOUR,
      reference: '03:10',
      timezone: 'Europe/Berlin',
    });
    // 03:10 CET = 02:10Z; after the spring-forward the same instants are 04:10, 10:10... CEST.
    expect(fires(schedule, '2026-03-28T12:00:00Z', '2026-03-29T12:00:00Z')).to.deep.equal(
      utc('2026-03-28T14:10', '2026-03-28T20:10', '2026-03-29T02:10', '2026-03-29T08:10'),
    );
    expect(schedule.describe()).to.equal('every 6h from 03:10 (Europe/Berlin)');
  });

  it('uses UTC when no timezone is given, whatever the daemon default', () => {
    const schedule = compile(
      { kind: 'interval', intervalMs: 24 * HOUR, reference: '09:00' },
      'job',
      'Asia/Tokyo',
    );
    expect(new Date(schedule.nextAfter(Date.parse('2026-11-26T00:00:00Z'))!).toISOString()).to.equal(
      '2026-11-26T09:00:00.000Z',
    );
  });
});
