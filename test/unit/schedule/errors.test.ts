import { expect } from 'chai';
import type { ScheduleSpec } from '../../../src/core/types.js';
import { ScheduleError } from '../../../src/schedule/index.js';
import { compile } from './fires.js';

function errorOf(spec: ScheduleSpec | string): ScheduleError {
  try {
    compile(spec);
  } catch (err) {
    expect(err).to.be.instanceOf(ScheduleError);
    expect((err as Error).message).to.match(/^schedule: /);
    return err as ScheduleError;
  }
  throw new Error(`expected ${JSON.stringify(spec)} to be rejected`);
}

describe('schedule: invalid input', () => {
  it('names the field and the allowed range of an out-of-range value', () => {
    expect(errorOf('61 * * * *').message).to.match(/minute field "61".*0-59/);
    expect(errorOf('0 24 * * *').message).to.match(/hour field "24".*0-23/);
    expect(errorOf('0 0 32 * *').message).to.match(/day-of-month field "32"/);
    expect(errorOf('0 0 * 13 *').message).to.match(/month field "13"/);
  });

  it('rejects a malformed field', () => {
    expect(errorOf('* * * FOO *').message).to.match(/month field "FOO"/);
    expect(errorOf('*/0 * * * *').message).to.match(/minute field "\*\/0"/);
    expect(errorOf('5-1 * * * *').message).to.match(/minute field "5-1"/);
    expect(errorOf('0 0 L * *').message).to.match(/L, W and # are not supported/);
    expect(errorOf('H(5-1) * * * *').message).to.match(/H range 5-1 must be ascending/);
  });

  it('rejects the wrong number of fields and empty expressions', () => {
    expect(errorOf('* * * * * * *').message).to.match(/expected 5 fields .* or 6 fields .*got 7/);
    expect(errorOf('* * *').message).to.match(/got 3/);
    expect(errorOf('   ').message).to.match(/cron expression is empty/);
  });

  it('rejects unknown descriptors and bad @every durations', () => {
    expect(errorOf('@reboot').message).to.match(/unknown cron descriptor "@reboot".*@daily/);
    expect(errorOf('@every 5d').message).to.match(/days are not a unit/);
    expect(errorOf('@every 0s').message).to.match(/must be positive/);
    expect(errorOf({ kind: 'every', intervalMs: 0 }).message).to.match(/positive duration/);
  });

  it('rejects an unknown timezone with an example of a valid one', () => {
    expect(errorOf({ kind: 'cron', expression: '0 0 * * *', timezone: 'Mars/Base' }).message).to.match(
      /unknown timezone "Mars\/Base".*Europe\/Berlin/,
    );
    expect(errorOf({ kind: 'fuzzy', period: 'daily', timezone: 'Mars/Base' }).message).to.match(/Mars\/Base/);
  });

  it('rejects empty and malformed windows', () => {
    const empty = errorOf({ kind: 'fuzzy', period: 'daily', window: { start: '03:00', end: '03:00' } });
    expect(empty.message).to.match(/window "03:00-03:00" is empty/);
    const late = errorOf({ kind: 'fuzzy', period: 'daily', window: { start: '25:00', end: '03:00' } });
    expect(late.message).to.match(/window start "25:00" is out of range/);
    const text = errorOf({ kind: 'fuzzy', period: 'daily', window: { start: 'noon', end: '03:00' } });
    expect(text.message).to.match(/"noon" is not a time of day/);
  });

  it('rejects a bad interval reference and a window on a period it cannot fit', () => {
    expect(errorOf({ kind: 'interval', intervalMs: 60_000, reference: '3pm' }).message).to.match(
      /reference "3pm" is not a time of day/,
    );
    const odd = errorOf({
      kind: 'fuzzy',
      period: { everyMs: 36 * 3_600_000 },
      window: { start: '01:00', end: '02:00' },
    });
    expect(odd.message).to.match(/cannot have a window/);
  });

  it('rejects an invalid one-off instant', () => {
    expect(errorOf({ kind: 'at', at: Number.NaN }).message).to.match(/"at" must be a valid instant/);
  });
});

describe('schedule: H tokens that are not whole list items', () => {
  it('rejects them rather than letting a non-stable hash through', () => {
    expect(errorOf('H-5 * * * *').message).to.match(/write H as a whole list item/);
    expect(errorOf('0 h * * *').message).to.match(/write H as a whole list item/);
    expect(() => compile('0 9 * * THU')).not.to.throw();
  });
});
