import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshExecutor } from '../../../src/exec/ssh/executor.js';
import { KEY_PASSPHRASE } from '../../harness/sshd.js';
import { argv, request, useSshHosts } from '../../harness/ssh-fixture.js';

const PASS_ENV = 'DISTCRON_TEST_KEY_PASSPHRASE';
const WRONG_PASS_ENV = 'DISTCRON_TEST_WRONG_PASSPHRASE';

describe('SshExecutor authentication against a real sshd', function () {
  this.timeout(30_000);
  const fixture = useSshHosts('ssh auth', { count: 1 });
  let executor: SshExecutor;

  before(function () {
    if (!fixture.hosts) return;
    process.env[PASS_ENV] = KEY_PASSPHRASE;
    process.env[WRONG_PASS_ENV] = 'not the passphrase';
    executor = new SshExecutor({
      knownHostsFile: fixture.hosts.knownHostsFile,
      resolveNode: () => undefined,
    });
  });
  after(async () => {
    delete process.env[PASS_ENV];
    delete process.env[WRONG_PASS_ENV];
    await executor?.close();
  });

  const whoami = (connection: Parameters<typeof fixture.hosts.node>[1], name?: string) =>
    executor.run(fixture.hosts.node(0, connection, name), request(argv('id', '-un')));

  it('logs in with an unencrypted private key', async () => {
    const out = await whoami({});
    expect(out.status, out.error ?? '').to.equal('succeeded');
    expect(out.stdout.trim()).to.equal(fixture.hosts.user);
  });

  it('logs in with an encrypted key whose passphrase comes from the named env var', async () => {
    const out = await whoami(
      { privateKeyFile: fixture.hosts.passphraseKeyFile, passphraseEnv: PASS_ENV },
      'enc',
    );
    expect(out.status, out.error ?? '').to.equal('succeeded');
  });

  it('says the key is encrypted when no passphrase env var is configured', async () => {
    const out = await whoami({ privateKeyFile: fixture.hosts.passphraseKeyFile }, 'enc-nopass');
    expect(out.status).to.equal('error');
    expect(out.connectFailed).to.equal(true);
    expect(out.error).to.match(
      /^ssh: node enc-nopass: private key file .* is encrypted; .*ssh_private_key_passphrase_env/,
    );
  });

  it('says the passphrase is wrong without revealing it', async () => {
    const out = await whoami(
      { privateKeyFile: fixture.hosts.passphraseKeyFile, passphraseEnv: WRONG_PASS_ENV },
      'enc-wrong',
    );
    expect(out.status).to.equal('error');
    expect(out.error).to.contain(WRONG_PASS_ENV);
    expect(out.error).not.to.contain('not the passphrase');
  });

  it('names the missing passphrase env var', async () => {
    const out = await whoami(
      { privateKeyFile: fixture.hosts.passphraseKeyFile, passphraseEnv: 'DISTCRON_NO_SUCH_VAR' },
      'enc-unset',
    );
    expect(out.error).to.match(/env var DISTCRON_NO_SUCH_VAR .* is not set/);
  });

  it('rejects a key the host does not know, naming node and user', async () => {
    const out = await whoami({ privateKeyFile: fixture.hosts.otherKeyFile }, 'wrongkey');
    expect(out.status).to.equal('error');
    expect(out.connectFailed).to.equal(true);
    expect(out.error).to.match(
      /^ssh: node wrongkey \(distcron-sshtest@\[127\.0\.0\.2\]:\d+\): authentication failed for user distcron-sshtest/,
    );
  });

  describe('with a real ssh-agent', () => {
    let agentDir: string;
    let agentPid: number;
    let savedSock: string | undefined;

    before(function () {
      if (!fixture.hosts) return;
      agentDir = mkdtempSync(join(tmpdir(), 'distcron-agent-'));
      const sock = join(agentDir, 'agent.sock');
      const out = execFileSync('/usr/bin/ssh-agent', ['-a', sock, '-s'], { encoding: 'utf8' });
      agentPid = Number(/SSH_AGENT_PID=(\d+)/.exec(out)![1]);
      execFileSync('/usr/bin/ssh-add', ['-q', fixture.hosts.clientKeyFile], {
        env: { ...process.env, SSH_AUTH_SOCK: sock },
      });
      savedSock = process.env.SSH_AUTH_SOCK;
      process.env.SSH_AUTH_SOCK = sock;
    });
    after(() => {
      if (agentPid) process.kill(agentPid);
      if (savedSock === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = savedSock;
      if (agentDir) rmSync(agentDir, { recursive: true, force: true });
    });

    it('logs in with a key held only by the agent', async () => {
      const out = await whoami({ privateKeyFile: undefined, agent: true }, 'agent');
      expect(out.status, out.error ?? '').to.equal('succeeded');
      expect(out.stdout.trim()).to.equal(fixture.hosts.user);
    });

    it('explains when SSH_AUTH_SOCK is not set', async () => {
      delete process.env.SSH_AUTH_SOCK;
      try {
        const out = await whoami({ privateKeyFile: undefined, agent: true }, 'agent-nosock');
        expect(out.status).to.equal('error');
        expect(out.error).to.match(/ssh_agent but SSH_AUTH_SOCK is not set/);
      } finally {
        process.env.SSH_AUTH_SOCK = join(agentDir, 'agent.sock');
      }
    });
  });
});
