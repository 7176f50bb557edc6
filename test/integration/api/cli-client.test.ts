import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { expect } from 'chai';
import { listRuns, runRemote } from '../../../src/cli/client.js';
import { TOKEN_FILE, TOKENS } from '../../unit/api/setup.js';
import { ApiDaemon, eventually } from './api-daemon.js';

const local = { policy: { select: 'any', roles: ['local'] } };

/** A loopback port nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    }),
  );
}

function capture() {
  const lines = { out: [] as string[], err: [] as string[] };
  return { lines, out: (l: string) => lines.out.push(l), err: (l: string) => lines.err.push(l) };
}

const CLI = new URL('../../../src/cli/main.ts', import.meta.url).pathname;

/** The real `distcron` command line, as an operator types it. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      { env: { ...process.env, DISTCRON_TOKEN: TOKENS.operate } },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    );
  });
}

describe('CLI client (distcron run, distcron runs) against a real daemon', function () {
  this.timeout(60_000);
  const d = new ApiDaemon(TOKEN_FILE);
  const target = () => ({ api: d.url, token: TOKENS.operate, pollMs: 20 });

  before(async () => {
    d.env.writeNode('local', { roles: ['local'], connection_type: 'local' });
    d.env.writeNode('other', { roles: ['local'], connection_type: 'local' });
    d.env.writeJob('greet', {
      ...local,
      shell_command: 'sleep 0.3; echo "hi $WHO"; echo warn >&2',
      parameters: { WHO: { default: 'all', max_length: 20 } },
    });
    d.env.writeJob('fail3', { ...local, shell_command: 'echo partial; exit 3' });
    d.env.writeJob('everywhere', { policy: { select: 'all', roles: ['local'] }, shell_command: 'echo each' });
    d.env.writeNode('third', { roles: ['spare'], connection_type: 'local' });
    await d.start();
  });
  after(() => d.cleanup());

  it('waits for the run, prints stdout and stderr at the end, and exits 0', async () => {
    const c = capture();
    const code = await runRemote({ ...target(), job: 'greet', parameters: { WHO: 'cli' }, ...c });
    expect(code).to.equal(0);
    expect(c.lines.out).to.deep.equal(['hi cli']);
    expect(c.lines.err[0]).to.equal('warn');
    expect(c.lines.err[1]).to.match(/^greet: succeeded on (local|other) \(exit 0\) in \d/);
  });

  it('runs on the node given with --node', async () => {
    for (const node of ['other', 'other', 'local', 'local']) {
      const c = capture();
      expect(await runRemote({ ...target(), job: 'greet', nodes: [node], ...c })).to.equal(0);
      expect(c.lines.err.at(-1)).to.match(new RegExp(`^greet: succeeded on ${node} `));
    }
  });

  it('distcron run --node a --node b and --node a,b run on exactly the nodes named, with --param values', async () => {
    d.env.writeJob('where', {
      policy: { select: 'any', roles: ['local', 'spare'] },
      overlap: 'allow',
      shell_command: 'echo "$DISTCRON_NODE $WHAT"',
      parameters: { WHAT: { enum: ['x', 'y=1,2'], default: 'x' } },
    });
    await eventually(async () =>
      (await d.as(TOKENS.read).get('/api/v1/jobs/where')).json?.definition?.parameters?.WHAT
        ? true
        : undefined,
    );
    for (const nodeArgs of [
      ['--node', 'local', '--node', 'third'],
      ['--node', 'local,third'],
    ]) {
      const result = await cli(['run', 'where', ...nodeArgs, '--param', 'WHAT=y=1,2', '--api', d.url]);
      expect(result.code, result.stderr).to.equal(0);
      expect(
        result.stdout
          .split('\n')
          .filter((l) => !l.startsWith('==>') && l !== '')
          .sort(),
      ).to.deep.equal(['local y=1,2', 'third y=1,2']);
    }
    const recorded = (await d.daemon.control.listRuns({ job: 'where', limit: 10 })).runs;
    expect(recorded.map((r) => [r.requestedBy, r.parameters])).to.deep.equal(
      Array(4).fill(['ci', { WHAT: 'y=1,2' }]),
    );
    const bad = await cli(['run', 'where', '--param', 'WHAT=z', '--api', d.url]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/parameter WHAT must be one of/);
  });

  it("exits with the run's exit code", async () => {
    const c = capture();
    expect(await runRemote({ ...target(), job: 'fail3', ...c })).to.equal(3);
    expect(c.lines.out).to.deep.equal(['partial']);
    expect(c.lines.err.at(-1)).to.match(/^fail3: failed on (local|other) \(exit 3\)/);
  });

  it('prints every run of an "all" job under a node header, or JSON with --json', async () => {
    const c = capture();
    expect(await runRemote({ ...target(), job: 'everywhere', ...c })).to.equal(0);
    expect(c.lines.out.filter((l) => l.startsWith('==> '))).to.have.length(2);
    const j = capture();
    await runRemote({ ...target(), job: 'everywhere', json: true, ...j });
    const parsed = JSON.parse(j.lines.out[0]!);
    expect(parsed.runs.map((r: { stdout: string }) => r.stdout)).to.deep.equal(['each\n', 'each\n']);
  });

  it('reports API errors clearly and exits 1', async () => {
    const unknown = capture();
    expect(await runRemote({ ...target(), job: 'nope', ...unknown })).to.equal(1);
    expect(unknown.lines.err).to.deep.equal(['api: no job named "nope"']);
    const weak = capture();
    expect(await runRemote({ ...target(), token: TOKENS.read, job: 'greet', ...weak })).to.equal(1);
    expect(weak.lines.err[0]).to.match(/has role read; this needs operate/);
    const none = capture();
    expect(await runRemote({ ...target(), token: undefined, job: 'greet', ...none })).to.equal(1);
    expect(none.lines.err[0]).to.match(/Bearer <token>.*\(set DISTCRON_TOKEN\)$/);
  });

  it('says when the daemon cannot be reached', async () => {
    const port = await closedPort();
    const c = capture();
    expect(await listRuns({ api: `http://127.0.0.1:${port}`, ...c })).to.equal(1);
    expect(c.lines.err[0]).to.equal(
      `client: cannot reach the distcron API at http://127.0.0.1:${port} (ECONNREFUSED); is the daemon running? pass --api URL`,
    );
  });

  it('lists runs as a table, filtered by job and status', async () => {
    const c = capture();
    expect(await listRuns({ api: d.url, token: TOKENS.read, job: 'fail3', status: 'failed', ...c })).to.equal(
      0,
    );
    expect(c.lines.out[0]).to.match(/^ID\s+JOB\s+NODE\s+STATUS\s+EXIT\s+TRIGGER\s+STARTED\s+DURATION$/);
    expect(c.lines.out.slice(1)).to.have.length(1);
    expect(c.lines.out[1]).to.match(
      /^\w{26}\s+fail3\s+(local|other)\s+failed\s+3\s+manual\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+\d/,
    );
  });

  it('lists runs as JSON with --json, and says so when there are none', async () => {
    const c = capture();
    await listRuns({ api: d.url, token: TOKENS.read, job: 'greet', json: true, ...c });
    // One run from the first test, four from the --node test.
    expect(JSON.parse(c.lines.out[0]!).map((r: { job: string }) => r.job)).to.deep.equal(
      Array(5).fill('greet'),
    );
    const none = capture();
    await listRuns({ api: d.url, token: TOKENS.read, job: 'greet', status: 'timed_out', ...none });
    expect(none.lines.out).to.deep.equal(['no runs']);
  });
});
