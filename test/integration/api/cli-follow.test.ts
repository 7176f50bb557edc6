import { expect } from 'chai';
import { runRemote } from '../../../src/cli/client.js';
import { runLogs } from '../../../src/cli/follow.js';
import { TOKEN_FILE, TOKENS } from '../../unit/api/setup.js';
import { ApiDaemon } from './api-daemon.js';

/** Lines with the time they were written. */
function capture() {
  const lines = { out: [] as { line: string; at: number }[], err: [] as string[] };
  return {
    lines,
    out: (line: string) => lines.out.push({ line, at: Date.now() }),
    err: (line: string) => lines.err.push(line),
  };
}

/** Each "line N <ms>" line's delay: written by the CLI − printed by the command. */
function delays(lines: { line: string; at: number }[]): number[] {
  return lines.flatMap(({ line, at }) => {
    const m = /line \d+ (\d{13})$/.exec(line);
    return m ? [at - Number(m[1])] : [];
  });
}

const TICKER =
  'sleep 0.5; for i in 1 2 3 4 5; do echo "line $i $(date +%s%3N)"; sleep 0.2; done; echo done >&2; exit 4';

describe('CLI distcron logs -f and distcron run --follow against a real daemon', function () {
  this.timeout(60_000);
  const d = new ApiDaemon(TOKEN_FILE);
  const target = () => ({ api: d.url, token: TOKENS.operate, pollMs: 20 });

  before(async () => {
    d.env.writeNode('n1', { roles: ['local'], connection_type: 'local' });
    d.env.writeNode('n2', { roles: ['local'], connection_type: 'local' });
    d.env.writeJob('ticker', { policy: { select: 'any', hosts: ['n1'] }, shell_command: TICKER });
    d.env.writeJob('both', { policy: { select: 'all', roles: ['local'] }, shell_command: TICKER });
    await d.start();
  });
  after(() => d.cleanup());

  it('run --follow prints each line as it comes, then the summary, and exits with the code', async () => {
    const c = capture();
    const code = await runRemote({ ...target(), job: 'ticker', follow: true, out: c.out, err: c.err });
    expect(code).to.equal(4);
    expect(c.lines.out.map((l) => l.line.replace(/ \d{13}$/, ''))).to.deep.equal(
      [1, 2, 3, 4, 5].map((i) => `line ${i}`),
    );
    for (const ms of delays(c.lines.out)) expect(ms).to.be.below(500);
    expect(c.lines.err[0]).to.equal('done');
    expect(c.lines.err[1]).to.match(/^ticker: failed on n1 \(exit 4\)/);
  });

  it('run --follow of an `all` job prefixes each line with its node', async () => {
    const c = capture();
    const code = await runRemote({ ...target(), job: 'both', follow: true, out: c.out, err: c.err });
    expect(code).to.equal(4);
    for (const node of ['n1', 'n2']) {
      const mine = c.lines.out.filter((l) => l.line.startsWith(`${node} | line `));
      expect(mine).to.have.length(5);
    }
    expect(c.lines.err.filter((l) => /^n[12] \| done$/.test(l))).to.have.length(2);
  });

  it('logs -f follows a run started elsewhere until it ends; logs prints it afterwards', async () => {
    const started = await d.as(TOKENS.operate).post('/api/v1/jobs/ticker/run');
    const id = started.json.run_ids[0] as string;
    const c = capture();
    expect(await runLogs({ ...target(), id, follow: true, out: c.out, err: c.err })).to.equal(4);
    expect(c.lines.out).to.have.length(5);
    for (const ms of delays(c.lines.out)) expect(ms).to.be.below(500);
    const again = capture();
    expect(await runLogs({ ...target(), id, out: again.out, err: again.err })).to.equal(0);
    expect(again.lines.out.map((l) => l.line)).to.deep.equal(c.lines.out.map((l) => l.line));
    expect(again.lines.err).to.deep.equal(['done']);
    const missing = capture();
    expect(
      await runLogs({ ...target(), id: 'nope', follow: true, out: missing.out, err: missing.err }),
    ).to.equal(1);
    expect(missing.lines.err.join('\n')).to.include('no run with id nope');
  });
});
