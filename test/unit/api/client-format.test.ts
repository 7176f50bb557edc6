import { expect } from 'chai';
import { runExitCode } from '../../../src/cli/client.js';
import { formatTable, humanDuration, shortTime } from '../../../src/cli/table.js';

describe('CLI client formatting', () => {
  it("exits with the command's code, 124 for a timeout, 130 when cancelled, 1 otherwise", () => {
    const cases: [Parameters<typeof runExitCode>[0], number][] = [
      [{ status: 'succeeded', exit_code: 0 }, 0],
      [{ status: 'failed', exit_code: 3 }, 3],
      [{ status: 'failed', exit_code: null }, 1],
      [{ status: 'timed_out', exit_code: null }, 124],
      [{ status: 'cancelled', exit_code: null }, 130],
      [{ status: 'cancelled', exit_code: 143 }, 143],
      [{ status: 'error', exit_code: null }, 1],
      [{ status: 'lost', exit_code: null }, 1],
    ];
    for (const [run, code] of cases) expect(runExitCode(run), JSON.stringify(run)).to.equal(code);
  });

  it('aligns table columns two spaces apart without trailing blanks', () => {
    expect(
      formatTable(
        ['ID', 'STATUS', 'EXIT'],
        [
          ['a', 'succeeded', '0'],
          ['bbbb', 'failed', ''],
        ],
      ),
    ).to.deep.equal(['ID    STATUS     EXIT', 'a     succeeded  0', 'bbbb  failed']);
  });

  it('prints durations and times for people', () => {
    expect([null, 850, 12_345, 245_000, 7_380_000].map(humanDuration)).to.deep.equal([
      '-',
      '850ms',
      '12.3s',
      '4m05s',
      '2h03m',
    ]);
    expect(shortTime('2026-11-26T09:00:00.123Z')).to.equal('2026-11-26T09:00:00Z');
    expect(shortTime(null)).to.equal('-');
  });
});
