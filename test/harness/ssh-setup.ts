/**
 * One-off machine and file setup for the sshd test hosts: the dedicated test user, key pairs,
 * authorized_keys and known_hosts files. Only loopback addresses are ever written anywhere.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
  chmodSync,
  copyFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
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
    // In-process SFTP server (no external binary): script_delivery "upload" writes through it.
    'Subsystem sftp internal-sftp',
    'LogLevel ERROR',
    '',
  ].join('\n');
}

/** `run_as` targets: the test user may become the first without a password, the second only with one. */
export const RUN_AS_USER = 'distcron-runas';
export const RUN_AS_PASSWORD_USER = 'distcron-runas-pw';
const SUDO = '/usr/bin/sudo';
const SUDOERS_FILE = '/etc/sudoers.d/distcron-sshtest';

export function sudoMissingReason(): string | null {
  if (!existsSync(SUDO)) return `${SUDO} not found (apt-get install sudo)`;
  if (!existsSync('/usr/sbin/visudo')) return '/usr/sbin/visudo not found';
  return null;
}

/**
 * The sudoers rule the run_as tests need, checked with visudo before it goes live:
 * TEST_USER → RUN_AS_USER with NOPASSWD, TEST_USER → RUN_AS_PASSWORD_USER with a password
 * (which `sudo -n` refuses at once). removeSudoRule() takes it away again.
 */
export function installSudoRule(): void {
  for (const user of [RUN_AS_USER, RUN_AS_PASSWORD_USER]) ensureUser(user);
  const rule =
    `# distcron test harness (removed on teardown)\n` +
    `${TEST_USER} ALL=(${RUN_AS_USER}) NOPASSWD: ALL\n` +
    `${TEST_USER} ALL=(${RUN_AS_PASSWORD_USER}) ALL\n`;
  const staged = `${SUDOERS_FILE}.new`;
  writeFileSync(staged, rule, { mode: 0o440 });
  try {
    execFileSync('/usr/sbin/visudo', ['-c', '-q', '-f', staged], { stdio: 'pipe' });
    renameSync(staged, SUDOERS_FILE); // atomic: sudo never reads half a rule
  } finally {
    rmSync(staged, { force: true });
  }
}

export function removeSudoRule(): void {
  rmSync(SUDOERS_FILE, { force: true });
}

function ensureUser(name: string): void {
  if (userExists(name)) return;
  try {
    execFileSync('/usr/sbin/useradd', ['-M', '-d', '/nonexistent', '-s', '/bin/sh', name], { stdio: 'pipe' });
  } catch (err) {
    if (!userExists(name)) throw err;
  }
}
