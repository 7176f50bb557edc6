/**
 * One-off machine and file setup for the sshd test hosts: the dedicated test user, key pairs,
 * authorized_keys and known_hosts files. Only loopback addresses are ever written anywhere.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';

export const SSHD_BINARY = '/usr/sbin/sshd';
export const TEST_USER = 'distcron-sshtest';
export const TEST_USER_HOME = '/var/lib/distcron-sshtest';
export const KEY_PASSPHRASE = 'correct horse battery staple';

export function sshdMissingReason(): string | null {
  if (!existsSync(SSHD_BINARY)) return `${SSHD_BINARY} not found (apt-get install openssh-server)`;
  for (const tool of ['/usr/bin/ssh-keygen', '/usr/sbin/useradd']) {
    if (!existsSync(tool)) return `${tool} not found`;
  }
  if (process.getuid?.() !== 0) return 'the sshd test hosts need root (useradd, sshd)';
  return null;
}

/** A user with an empty home and `/bin/sh`, so no shell start-up file runs per command. */
export function ensureTestUser(): void {
  if (!userExists(TEST_USER)) {
    try {
      execFileSync('/usr/sbin/useradd', ['-M', '-d', TEST_USER_HOME, '-s', '/bin/sh', TEST_USER], {
        stdio: 'pipe',
      });
    } catch (err) {
      // Another test process may have created it a moment ago.
      if (!userExists(TEST_USER)) throw err;
    }
  }
  // UsePAM no refuses a locked account ('!') even for key logins.
  execFileSync('/usr/sbin/usermod', ['-p', '*', TEST_USER]);
  mkdirSync(TEST_USER_HOME, { recursive: true, mode: 0o755 });
  execFileSync('/bin/chown', [`${TEST_USER}:`, TEST_USER_HOME]);
  // sshd's privilege-separation directory.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
}

function userExists(name: string): boolean {
  try {
    execFileSync('/usr/bin/id', ['-u', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Generates an ed25519 key pair at `file` (+ `.pub`) and returns the public key line. */
export function generateKey(file: string, passphrase = '', comment = 'distcron-test'): string {
  execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', comment, '-f', file]);
  chmodSync(file, 0o600);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

/** `[address]:port key` — the form OpenSSH writes for a non-22 port. */
export function knownHostsLine(address: string, port: number, publicKeyLine: string): string {
  const [type, blob] = publicKeyLine.split(/\s+/);
  return `[${address}]:${port} ${type} ${blob}`;
}

/** Writes the plain file and a hashed copy (`ssh-keygen -H`). */
export function writeKnownHosts(dir: string, lines: string[]): { plain: string; hashed: string } {
  const plain = join(dir, 'known_hosts');
  const hashed = join(dir, 'known_hosts.hashed');
  writeFileSync(plain, lines.join('\n') + '\n', { mode: 0o644 });
  copyFileSync(plain, hashed);
  execFileSync('/usr/bin/ssh-keygen', ['-q', '-H', '-f', hashed], { stdio: 'ignore' });
  return { plain, hashed };
}

export interface SshdConfigInput {
  port: number;
  addresses: string[];
  hostKeyFile: string;
  authorizedKeysFile: string;
  maxSessions: number;
}

export function sshdConfig(c: SshdConfigInput): string {
  return [
    `Port ${c.port}`,
    ...c.addresses.map((a) => `ListenAddress ${a}`),
    `HostKey ${c.hostKeyFile}`,
    'PidFile none',
    'UsePAM no',
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    `AuthorizedKeysFile ${c.authorizedKeysFile}`,
    `AllowUsers ${TEST_USER}`,
    'PermitRootLogin no',
    'MaxStartups 2000',
    'PerSourceMaxStartups none',
    `MaxSessions ${c.maxSessions}`,
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'AllowTcpForwarding yes',
    'LogLevel ERROR',
    '',
  ].join('\n');
}
