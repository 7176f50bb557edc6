import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { SshExecutor } from '../../../src/exec/ssh/executor.js';
import type { NodeDef } from '../../../src/core/types.js';
import { argv, nodeMap, request, useSshHosts } from '../../harness/ssh-fixture.js';

/** A loopback TCP server; `speak` decides what (if anything) it says to each client. */
async function listener(
  speak: (s: Socket) => void,
): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    speak(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, sockets };
}

async function closedPort(): Promise<number> {
  const { server, port } = await listener(() => undefined);
  await new Promise((r) => server.close(r));
  return port;
}

describe('SshExecutor with bad node definitions', function () {
  this.timeout(30_000);
  const fixture = useSshHosts('ssh bad input', { count: 1 });
  let executor: SshExecutor;
  const extraNodes: NodeDef[] = [];

  before(function () {
    if (!fixture.hosts) return;
    executor = new SshExecutor({
      knownHostsFile: fixture.hosts.knownHostsFile,
      resolveNode: (name) => nodeMap(extraNodes)(name),
      connectTimeoutMs: 1000,
    });
  });
  after(() => executor?.close());

  async function expectError(node: NodeDef, pattern: RegExp): Promise<void> {
    const out = await executor.run(node, request(argv('true')));
    expect(out.status).to.equal('error');
    expect(out.connectFailed).to.equal(true);
    expect(out.startedAt).to.equal(null);
    expect(out.error).to.match(pattern);
  }

  it('reports a closed port as connection refused', async () => {
    const node = fixture.hosts.node(0, { host: '127.0.0.1', port: await closedPort() }, 'closed');
    await expectError(node, /^ssh: node closed \(.*\): connection refused/);
  });

  it('reports a user the host does not accept as an authentication failure naming the user', async () => {
    await expectError(
      fixture.hosts.node(0, { user: 'nosuchuser' }, 'wronguser'),
      /node wronguser .*authentication failed for user nosuchuser/,
    );
  });

  it('reports a file that is not a private key', async () => {
    const notKey = join(fixture.hosts.dir, 'not-a-key.txt');
    writeFileSync(notKey, 'hello, I am not a key\n');
    await expectError(
      fixture.hosts.node(0, { privateKeyFile: notKey }, 'notkey'),
      /node notkey: private key file .* is not a usable private key/,
    );
  });

  it('reports a key file that does not exist', async () => {
    await expectError(
      fixture.hosts.node(0, { privateKeyFile: '/nonexistent/id_ed25519' }, 'nokey'),
      /cannot read private key file \/nonexistent/,
    );
  });

  it('gives up on a host that accepts TCP but never speaks SSH after the connect timeout', async () => {
    const silent = await listener(() => undefined);
    try {
      const node = fixture.hosts.node(0, { host: '127.0.0.1', port: silent.port }, 'silent');
      await expectError(node, /node silent .*no SSH session within 1000 ms \(--ssh-connect-timeout\)/);
    } finally {
      silent.sockets.forEach((s) => s.destroy());
      silent.server.close();
    }
  });

  it('fails concurrent runs to a silent host together over one shared connect attempt', async () => {
    const silent = await listener(() => undefined);
    try {
      const node = fixture.hosts.node(0, { host: '127.0.0.1', port: silent.port }, 'silent-many');
      const outs = await Promise.all(
        Array.from({ length: 5 }, () => executor.run(node, request(argv('true')))),
      );
      expect(outs.map((o) => o.status)).to.deep.equal(Array(5).fill('error'));
      expect(outs.every((o) => /no SSH session within 1000 ms/.test(o.error!))).to.equal(true);
      expect(silent.sockets).to.have.length(1);
    } finally {
      silent.sockets.forEach((s) => s.destroy());
      silent.server.close();
    }
  });

  it('reports a server that answers with something other than SSH', async () => {
    const http = await listener((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    try {
      await expectError(
        fixture.hosts.node(0, { host: '127.0.0.1', port: http.port }, 'http'),
        /^ssh: node http /,
      );
    } finally {
      http.server.close();
    }
  });

  it('reports an unreachable bastion, naming it', async () => {
    extraNodes.push(fixture.hosts.node(0, { host: '127.0.0.1', port: await closedPort() }, 'deadbastion'));
    const node = fixture.hosts.node(0, { jump: 'deadbastion' }, 'behind');
    await expectError(node, /^ssh: node behind .*bastion deadbastion failed: .*connection refused/);
  });

  it('reports an ssh_jump that names no known node', async () => {
    await expectError(
      fixture.hosts.node(0, { jump: 'ghost' }, 'lost'),
      /ssh_jump names unknown node "ghost"/,
    );
  });

  it('reports an ssh_jump loop instead of recursing', async () => {
    extraNodes.push(
      fixture.hosts.node(0, { jump: 'loop-b' }, 'loop-a'),
      fixture.hosts.node(0, { jump: 'loop-a' }, 'loop-b'),
    );
    await expectError(nodeMap(extraNodes)('loop-a')!, /ssh_jump chain loops/);
  });

  it('rejects an invalid environment variable name without connecting', async () => {
    const out = await executor.run(
      fixture.hosts.node(0),
      request(argv('true'), { environment: { 'BAD NAME': 'x' } }),
    );
    expect(out.status).to.equal('error');
    expect(out.connectFailed).to.equal(false);
    expect(out.error).to.match(/invalid environment variable name/);
  });
});
