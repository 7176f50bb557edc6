import { expect } from 'chai';
import { goDuration, writtenSchedule } from '../../../src/api/routes-legacy.js';

describe("api distcrond's shapes", () => {
  it("formats durations like Go's time.Duration", () => {
    expect([0, 250, 1000, 2500, 90_500, 7_200_000].map(goDuration)).to.deep.equal([
      '0s',
      '250ms',
      '1s',
      '2.5s',
      '1m30.5s',
      '2h0m0s',
    ]);
  });

  it('writes the schedule back as a job file states it', () => {
    expect(writtenSchedule({ kind: 'cron', expression: '*/5 * * * *', timezone: 'Europe/Berlin' })).to.equal(
      '*/5 * * * *',
    );
    expect(writtenSchedule({ kind: 'manual' })).to.equal('@manual');
    expect(writtenSchedule({ kind: 'every', intervalMs: 600_000 })).to.equal('@every 10m0s');
    expect(writtenSchedule({ kind: 'at', at: Date.parse('2031-01-01T00:00:00Z') })).to.equal(
      '{"at":"2031-01-01T00:00:00.000Z"}',
    );
  });
});
