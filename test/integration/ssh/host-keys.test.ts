import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKeyscan } from '../../../src/cli/keyscan.js';
import { SshExecutor } from '../../../src/exec/ssh/executor.js';
import type { HostKeyChangedEvent, SshExecutorInput } from '../../../src/exec/ssh/options.js';
import { argv, request, useSshHosts } from '../../harness/ssh-fixture.js';

describe('SshExecutor host-key checking against real sshd host keys', function () {
  this.timeout(30_000);
  const fixture = useSshHosts('ssh host keys', { count: 3 });
  let dir: string;
  const executors: SshExecutor[] = [];

  before(() => (dir = mkdtempSync(join(tmpdir(), 'distcron-hostkeys-'))));
  afterEach(async () => {
    await Promise.all(executors.splice(0).map((e) => e.close()));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function executor(options: Partial<SshExecutorInput> = {}): SshExecutor {
    const e = new SshExecutor({ resolveNode: () => undefined, connectTimeoutMs: 5000, ...options });
    executors.push(e);
    return e;
  }

  function file(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  const runTrue = (e: SshExecutor, i: number, hostKey?: string) =>
    e.run(fixture.hosts.node(i, hostKey === undefined ? {} : { hostKey }), request(argv('true')));

  it('accepts a host whose key matches the pinned ssh_host_key', async () => {
    const out = await runTrue(executor(), 0, fixture.hosts.hostKey(0));
    expect(out.status, out.error ?? '').to.equal('succeeded');
  });

  it('refuses a pinned key mismatch as a changed key and reports it', async () => {
    const events: HostKeyChangedEvent[] = [];
    const out = await runTrue(
      executor({ onHostKeyChanged: (e) => events.push(e) }),
      0,
      fixture.hosts.hostKey(1),
    );
    expect(out.status).to.equal('error');
    expect(out.connectFailed).to.equal(true);
    expect(out.error).to.match(/^ssh: node h0 .*HOST KEY CHANGED/);
    expect(events).to.have.length(1);
    expect(events[0]!.node).to.equal('h0');
  });

  it('accepts hosts listed in a plain known_hosts file as [host]:port', async () => {
    expect(readFileSync(fixture.hosts.knownHostsFile, 'utf8')).to.contain(
      `[127.0.0.2]:${fixture.hosts.port} `,
    );
    const out = await runTrue(executor({ knownHostsFile: fixture.hosts.knownHostsFile }), 1);
    expect(out.status, out.error ?? '').to.equal('succeeded');
  });

  it('accepts hosts listed in a hashed known_hosts file', async () => {
    const hashed = readFileSync(fixture.hosts.hashedKnownHostsFile, 'utf8');
    expect(hashed).to.match(/^\|1\|/);
    expect(hashed).not.to.contain('127.0.0');
    const out = await runTrue(executor({ knownHostsFile: fixture.hosts.hashedKnownHostsFile }), 1);
    expect(out.status, out.error ?? '').to.equal('succeeded');
  });

  it('refuses an unknown host with a message that says how to fix it', async () => {
    const empty = file('empty_known_hosts', '');
    const out = await runTrue(executor({ knownHostsFile: empty }), 0);
    expect(out.status).to.equal('error');
    expect(out.connectFailed).to.equal(true);
    expect(out.error).to.match(/^ssh: node h0 .*unknown host key ssh-ed25519 SHA256:/);
    expect(out.error).to.contain('distcron keyscan h0');
  });

  it('refuses a key marked @revoked even when also listed as known', async () => {
    const line = `[127.0.0.2]:${fixture.hosts.port} ${fixture.hosts.hostKey(0)}`;
    const known = file('revoked_known_hosts', `${line}\n@revoked ${line}\n`);
    const out = await runTrue(executor({ knownHostsFile: known }), 0);
    expect(out.status).to.equal('error');
    expect(out.error).to.match(/revoked/);
  });

  it('records a first-seen key under tofu and trusts it afterwards in strict mode', async () => {
    const tofu = join(dir, 'tofu_known_hosts');
    const first = await runTrue(executor({ hostKeyPolicy: 'tofu', tofuKnownHostsFile: tofu }), 1);
    expect(first.status, first.error ?? '').to.equal('succeeded');
    expect(readFileSync(tofu, 'utf8')).to.contain(`[127.0.0.3]:${fixture.hosts.port} ssh-ed25519 `);
    const again = await runTrue(executor({ knownHostsFile: tofu }), 1);
    expect(again.status, again.error ?? '').to.equal('succeeded');
  });

  it('keyscan records every node key so strict mode then connects', async () => {
    const known = join(dir, 'scanned_known_hosts');
    const printed: string[] = [];
    const nodes = [fixture.hosts.node(0), fixture.hosts.node(1)];
    const code = await runKeyscan({
      nodes,
      knownHostsFile: known,
      connectTimeoutMs: 5000,
      out: { write: (t) => printed.push(t) },
    });
    expect(code).to.equal(0);
    expect(printed.join('')).to.match(/h0: \[127\.0\.0\.2\]:\d+ ssh-ed25519 SHA256:\S+ \(added\)/);
    const out = await runTrue(executor({ knownHostsFile: known }), 0);
    expect(out.status, out.error ?? '').to.equal('succeeded');
  });

  it('keyscan reports a node it cannot reach and exits 1', async () => {
    const known = join(dir, 'scan_fail_known_hosts');
    const printed: string[] = [];
    const node = fixture.hosts.node(0, { port: 1 });
    const code = await runKeyscan({
      nodes: [node],
      knownHostsFile: known,
      connectTimeoutMs: 2000,
      out: { write: (t) => printed.push(t) },
    });
    expect(code).to.equal(1);
    expect(printed.join('')).to.match(/h0: FAILED: .*ECONNREFUSED/);
  });

  describe('after a host key changes', () => {
    let oldKnown: string;
    before(async function () {
      this.timeout(20_000);
      oldKnown = file('old_known_hosts', readFileSync(fixture.hosts.knownHostsFile, 'utf8'));
      await fixture.hosts.changeHostKey(2);
    });

    it('refuses the host and raises host_key_changed with both fingerprints', async () => {
      const events: HostKeyChangedEvent[] = [];
      const out = await runTrue(
        executor({ knownHostsFile: oldKnown, onHostKeyChanged: (e) => events.push(e) }),
        2,
      );
      expect(out.status).to.equal('error');
      expect(out.connectFailed).to.equal(true);
      expect(out.error).to.match(/HOST KEY CHANGED/);
      expect(events).to.have.length(1);
      const e = events[0]!;
      expect(e.host).to.equal(`[127.0.0.4]:${fixture.hosts.port}`);
      expect(e.expected).to.match(/^ssh-ed25519 SHA256:/);
      expect(e.actual).to.match(/^ssh-ed25519 SHA256:/);
      expect(e.actual).not.to.equal(e.expected);
    });

    it('refuses the changed key under tofu too', async () => {
      const out = await runTrue(executor({ hostKeyPolicy: 'tofu', knownHostsFile: oldKnown }), 2);
      expect(out.status).to.equal('error');
      expect(out.error).to.match(/HOST KEY CHANGED/);
    });

    it('keyscan replaces the old line, after which the host is accepted', async () => {
      const known = file('rescan_known_hosts', readFileSync(oldKnown, 'utf8'));
      const printed: string[] = [];
      const code = await runKeyscan({
        nodes: [fixture.hosts.node(2)],
        knownHostsFile: known,
        connectTimeoutMs: 5000,
        out: { write: (t) => printed.push(t) },
      });
      expect(code).to.equal(0);
      expect(printed.join('')).to.contain('replaced 1 old line(s)');
      const text = readFileSync(known, 'utf8');
      expect(text.split('\n').filter((l) => l.startsWith('[127.0.0.4]'))).to.have.length(1);
      expect(text).to.contain('[127.0.0.2]');
      const out = await runTrue(executor({ knownHostsFile: known }), 2);
      expect(out.status, out.error ?? '').to.equal('succeeded');
    });
  });
});
