import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { PgidSniffer, killTreeCommand, signalName, wrapCommand } from '../../../src/exec/ssh/remote.js';

function sniff(chunks: string[]): { pgid: Promise<number | null>; passed: string } {
  const out: Buffer[] = [];
  const s = new PgidSniffer((b) => out.push(b));
  for (const c of chunks) s.push(Buffer.from(c));
  s.end();
  return {
    pgid: s.pgid,
    get passed() {
      return Buffer.concat(out).toString();
    },
  };
}

describe('remote wrapper pieces (pure)', () => {
  it('takes the PGID line off stderr even when it arrives in pieces', async () => {
    const r = sniff(['DISTCRON_PG', 'ID=4242', '\nreal error\n', 'more']);
    expect(await r.pgid).to.equal(4242);
    expect(r.passed).to.equal('real error\nmore');
  });

  it('passes stderr through untouched when it does not start with the PGID line', async () => {
    const r = sniff(['oops: no wrapper here\n', 'x']);
    expect(await r.pgid).to.equal(null);
    expect(r.passed).to.equal('oops: no wrapper here\nx');
  });

  it('settles with no PGID when stderr ends before a full line', async () => {
    const r = sniff(['DISTCRON_PGID=1']);
    expect(await r.pgid).to.equal(null);
    expect(r.passed).to.equal('DISTCRON_PGID=1');
  });

  it('wraps so the shell reports its PID and then becomes the command (exec)', () => {
    const cmd = wrapCommand({
      command: { kind: 'argv', argv: ['echo', 'a b'] },
      environment: {},
      workingDirectory: '/tmp',
    });
    expect(cmd).to.equal(`printf 'DISTCRON_PGID=%s\\n' "$$" >&2; cd -- /tmp && exec echo 'a b'`);
    const out = execFileSync('/bin/sh', ['-c', `exec 2>&1; ${cmd}`], { encoding: 'utf8' });
    expect(out).to.match(/^DISTCRON_PGID=\d+\na b\n$/);
  });

  it('builds a kill script that a POSIX sh (dash) accepts', () => {
    execFileSync('/bin/sh', ['-n', '-c', killTreeCommand(123, 500)]);
    expect(killTreeCommand(123, 500)).to.contain('kill -TERM -123').and.contain('kill -KILL -123');
  });

  it('names signals the way Node does', () => {
    expect(signalName('TERM')).to.equal('SIGTERM');
    expect(signalName('SIGKILL')).to.equal('SIGKILL');
  });
});
