/**
 * The comparison points: a bare ssh2 script (the floor), parallel-ssh and Ansible, all against
 * the same loopback test hosts, host keys checked against the harness known_hosts file.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { SshTestHosts } from '../../test/harness/sshd.js';

export type Timed = () => Promise<void>;

/** Seconds taken by fn. */
export async function time(fn: Timed): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** The floor: 200 raw ssh2 connections, nothing else (no pool, no records, no host-key file). */
export class BareSsh2 {
  private clients: ssh2.Client[] = [];
  constructor(private readonly hosts: SshTestHosts) {}

  async connectAll(): Promise<void> {
    const key = readFileSync(this.hosts.clientKeyFile);
    this.clients = await Promise.all(
      this.hosts.hosts.map((h) => connectOne(h.address, this.hosts.port, this.hosts.user, key)),
    );
  }

  /** `true` on every open connection; resolves when every channel reported exit 0. */
  async execAll(): Promise<void> {
    await Promise.all(this.clients.map((c) => execTrue(c)));
  }

  /** Executions of `true` per second, each connection running one after another for `ms`. */
  async execRate(ms: number): Promise<number> {
    const until = Date.now() + ms;
    let done = 0;
    const loop = async (c: ssh2.Client) => {
      for (; Date.now() < until; done++) await execTrue(c);
    };
    await Promise.all(this.clients.map(loop));
    return done / (ms / 1000);
  }

  close(): void {
    for (const c of this.clients) c.end();
    this.clients = [];
  }
}

/** A loaded machine's sshd drops some of a thousand simultaneous handshakes: those are tried again. */
async function connectOne(
  host: string,
  port: number,
  username: string,
  privateKey: Buffer,
): Promise<ssh2.Client> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connectOnce(host, port, username, privateKey);
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

function connectOnce(host: string, port: number, username: string, privateKey: Buffer): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    const sock = connect({ host, port });
    sock.setNoDelay(true);
    // `on`, not `once`: a second error event (a socket error after the protocol's) must not crash.
    client.once('ready', () => resolve(client)).on('error', reject);
    client.connect({ sock, username, privateKey, algorithms: { kex: ['curve25519-sha256'] } });
  });
}

function execTrue(client: ssh2.Client): Promise<void> {
  return new Promise((resolve, reject) => {
    client.exec('true', (err, ch) => {
      if (err) return reject(err);
      let code: number | null = null;
      ch.on('exit', (c: number | null) => (code = c));
      ch.on('close', () => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
      ch.resume();
      ch.stderr.resume();
    });
  });
}

/** Runs a command; rejects on non-zero exit with its stderr. */
export function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${cmd} exited ${code}: ${err.slice(0, 2000)}${out.slice(0, 2000)}`)),
    );
  });
}

export class ExternalTools {
  private readonly dir = mkdtempSync(join(tmpdir(), 'distcron-fanout-tools-'));
  private readonly psshHosts = join(this.dir, 'pssh-hosts');
  private readonly inventory = join(this.dir, 'inventory.ini');

  constructor(private readonly hosts: SshTestHosts) {
    writeFileSync(
      this.psshHosts,
      hosts.hosts.map((h) => `${hosts.user}@${h.address}:${hosts.port}`).join('\n') + '\n',
    );
    writeFileSync(this.inventory, this.inventoryText());
    // An empty config: Ansible defaults, whatever ~/.ansible.cfg or /etc/ansible says.
    writeFileSync(join(this.dir, 'ansible.cfg'), '[defaults]\n');
  }

  private sshOptions(): string[] {
    return [
      '-i',
      this.hosts.clientKeyFile,
      '-o',
      `UserKnownHostsFile=${this.hosts.knownHostsFile}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
    ];
  }

  /** parallel-ssh with parallelism = host count; `kex` forces a key exchange (else OpenSSH's default). */
  async pssh(kex?: string): Promise<void> {
    const extra = kex ? ['-O', `KexAlgorithms=${kex}`] : [];
    const args = [
      '-h',
      this.psshHosts,
      '-p',
      String(this.hosts.hosts.length),
      '-t',
      '0',
      '-x',
      this.sshOptions().join(' '),
      ...extra,
      'true',
    ];
    await sh('/usr/bin/parallel-ssh', args);
  }

  /** Ansible ad-hoc `-m raw` with forks = host count; a fresh ControlPath dir keeps every round cold. */
  async ansibleRaw(): Promise<void> {
    const cp = mkdtempSync(join(this.dir, 'cp-'));
    const env = {
      ...process.env,
      ANSIBLE_CONFIG: join(this.dir, 'ansible.cfg'),
      ANSIBLE_SSH_CONTROL_PATH_DIR: cp,
      ANSIBLE_LOCALHOST_WARNING: 'False',
      ANSIBLE_NOCOLOR: '1',
    };
    const args = [
      'all',
      '-i',
      this.inventory,
      '-m',
      'raw',
      '-a',
      'true',
      '-f',
      String(this.hosts.hosts.length),
      '-o',
    ];
    try {
      await sh('/usr/bin/ansible', args, env);
    } finally {
      rmSync(cp, { recursive: true, force: true });
    }
  }

  private inventoryText(): string {
    const common = `-o UserKnownHostsFile=${this.hosts.knownHostsFile} -o StrictHostKeyChecking=yes`;
    const lines = this.hosts.hosts.map(
      (h) =>
        `${h.name} ansible_host=${h.address} ansible_port=${this.hosts.port} ansible_user=${this.hosts.user}`,
    );
    return [
      '[fleet]',
      ...lines,
      '[fleet:vars]',
      `ansible_ssh_private_key_file=${this.hosts.clientKeyFile}`,
      `ansible_ssh_common_args="${common}"`,
      '',
    ].join('\n');
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
