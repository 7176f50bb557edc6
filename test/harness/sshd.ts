/**
 * Real OpenSSH test hosts on loopback 127.0.0.2, 127.0.0.3, … (one shared port). Each sshd
 * serves at most 16 addresses (OpenSSH's limit), so N hosts need ceil(N / perProcess) sshd
 * processes. Hosts sharing a process share its host key; stopping one host restarts its
 * process without that address.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  writeFileSync,
  chmodSync,
  readFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeDef, SshConnection } from '../../src/core/types.js';
import {
  KEY_PASSPHRASE,
  SSHD_BINARY,
  TEST_USER,
  ensureTestUser,
  generateKey,
  knownHostsLine,
  sshdConfig,
  writeKnownHosts,
} from './ssh-setup.js';

export { KEY_PASSPHRASE, TEST_USER, sshdMissingReason } from './ssh-setup.js';

const MAX_HOSTS = 2000;

/** Host i's address: 127.0.0.2 … 127.0.0.254, then 127.0.1.2 …, never a .0/.1/.255 last octet. */
export function loopbackAddress(i: number): string {
  return `127.0.${Math.floor(i / 253)}.${2 + (i % 253)}`;
}

export interface SshTestHostsOptions {
  count: number;
  /** sshd `MaxSessions` (default 10, OpenSSH's default). */
  maxSessions?: number;
  /** Addresses per sshd process: default 1 for up to 16 hosts (independent host keys), else 16. */
  perProcess?: number;
}

export interface TestHost {
  index: number;
  name: string;
  address: string;
}

interface SshdGroup {
  index: number;
  hosts: TestHost[];
  stopped: Set<number>;
  hostKeyFile: string;
  hostKeyLine: string;
  keyGeneration: number;
  proc: ChildProcess | null;
}

const MAX_ADDRESSES_PER_SSHD = 16;
const live = new Set<SshTestHosts>();
process.on('exit', () => {
  for (const hosts of live) hosts.closeSync();
});

export class SshTestHosts {
  readonly hosts: TestHost[];
  readonly user = TEST_USER;
  readonly clientKeyFile: string;
  readonly passphraseKeyFile: string;
  readonly otherKeyFile: string;
  knownHostsFile = '';
  hashedKnownHostsFile = '';
  private readonly groups: SshdGroup[] = [];
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly options: Required<SshTestHostsOptions>,
  ) {
    this.hosts = Array.from({ length: options.count }, (_, i) => ({
      index: i,
      name: `h${i}`,
      address: loopbackAddress(i),
    }));
    this.clientKeyFile = join(dir, 'id_client');
    this.passphraseKeyFile = join(dir, 'id_passphrase');
    this.otherKeyFile = join(dir, 'id_other');
  }

  static async start(options: SshTestHostsOptions): Promise<SshTestHosts> {
    if (options.count < 1 || options.count > MAX_HOSTS)
      throw new Error(`sshd harness: count must be 1..${MAX_HOSTS}`);
    ensureTestUser();
    const full: Required<SshTestHostsOptions> = {
      count: options.count,
      maxSessions: options.maxSessions ?? 10,
      perProcess:
        options.perProcess ?? (options.count <= MAX_ADDRESSES_PER_SSHD ? 1 : MAX_ADDRESSES_PER_SSHD),
    };
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const hosts = new SshTestHosts(mkdtempSync(join(tmpdir(), 'distcron-sshd-')), randomPort(), full);
      live.add(hosts);
      try {
        await hosts.setUp();
        return hosts;
      } catch (err) {
        lastError = err;
        await hosts.close();
      }
    }
    throw lastError;
  }

  /** The `[address]:port` string a node's `ssh_host` resolves to. */
  hostPort(i: number): string {
    return `${this.host(i).address}:${this.port}`;
  }

  host(i: number): TestHost {
    const host = this.hosts[i];
    if (!host) throw new Error(`sshd harness: no host ${i}`);
    return host;
  }

  /** Current host public key line ("ssh-ed25519 AAAA…") of host i. */
  hostKey(i: number): string {
    return this.groupOf(i).hostKeyLine;
  }

  /** A node definition for host i using the client key; `connection` fields can be overridden. */
  node(i: number, connection: Partial<SshConnection> = {}, name = this.host(i).name): NodeDef {
    return {
      name,
      file: join(this.dir, `${name}.json`),
      roles: ['test'],
      labels: {},
      connection: {
        type: 'ssh',
        host: this.host(i).address,
        port: this.port,
        user: this.user,
        privateKeyFile: this.clientKeyFile,
        agent: false,
        ...connection,
      },
      maxConcurrentRuns: 8,
      disabled: false,
    };
  }

  nodes(): NodeDef[] {
    return this.hosts.map((h) => this.node(h.index));
  }

  async stopHost(i: number): Promise<void> {
    const group = this.groupOf(i);
    group.stopped.add(i);
    await this.restartGroup(group);
  }

  async startHost(i: number): Promise<void> {
    const group = this.groupOf(i);
    group.stopped.delete(i);
    await this.restartGroup(group);
  }

  /** Kills the host's sshd (and its connection processes) and starts it again. */
  async restartHost(i: number): Promise<void> {
    await this.restartGroup(this.groupOf(i));
  }

  /** Gives host i (and any host sharing its sshd) a new host key; returns the new key line. */
  async changeHostKey(i: number): Promise<string> {
    const group = this.groupOf(i);
    group.keyGeneration++;
    group.hostKeyFile = join(this.dir, `host_key_${group.index}_${group.keyGeneration}`);
    group.hostKeyLine = generateKey(group.hostKeyFile, '', `host-${group.index}`);
    await this.restartGroup(group);
    return group.hostKeyLine;
  }

  /** Resolves once host i answers with an SSH banner. */
  waitUp(i: number, timeoutMs = 10_000): Promise<void> {
    return waitForBanner(this.host(i).address, this.port, timeoutMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.groups.map((g) => stopProcess(g)));
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  /** For the process 'exit' hook: no awaiting possible there. */
  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    for (const g of this.groups) {
      if (g.proc?.pid) killDescendants(g.proc.pid);
      killGroup(g.proc, 'SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async setUp(): Promise<void> {
    chmodSync(this.dir, 0o755);
    const client = generateKey(this.clientKeyFile);
    const withPassphrase = generateKey(this.passphraseKeyFile, KEY_PASSPHRASE);
    generateKey(this.otherKeyFile, '', 'not-authorized');
    writeFileSync(join(this.dir, 'authorized_keys'), `${client}\n${withPassphrase}\n`, { mode: 0o644 });
    this.createGroups();
    this.writeKnownHostsFiles();
    for (const g of this.groups) this.spawnGroup(g);
    await Promise.all(this.groups.map((g) => this.groupUp(g)));
  }

  private createGroups(): void {
    const per = Math.min(this.options.perProcess, MAX_ADDRESSES_PER_SSHD);
    for (let start = 0; start < this.hosts.length; start += per) {
      const index = this.groups.length;
      const hostKeyFile = join(this.dir, `host_key_${index}_0`);
      const hostKeyLine = generateKey(hostKeyFile, '', `host-${index}`);
      const hosts = this.hosts.slice(start, start + per);
      this.groups.push({
        index,
        hosts,
        stopped: new Set(),
        hostKeyFile,
        hostKeyLine,
        keyGeneration: 0,
        proc: null,
      });
    }
  }

  private writeKnownHostsFiles(): void {
    const lines = this.hosts.map((h) => knownHostsLine(h.address, this.port, this.hostKey(h.index)));
    const files = writeKnownHosts(this.dir, lines);
    this.knownHostsFile = files.plain;
    this.hashedKnownHostsFile = files.hashed;
  }

  private groupOf(i: number): SshdGroup {
    this.host(i);
    const per = Math.min(this.options.perProcess, MAX_ADDRESSES_PER_SSHD);
    return this.groups[Math.floor(i / per)]!;
  }

  private spawnGroup(group: SshdGroup): void {
    const addresses = group.hosts.filter((h) => !group.stopped.has(h.index)).map((h) => h.address);
    if (addresses.length === 0) return;
    const configFile = join(this.dir, `sshd_config_${group.index}`);
    writeFileSync(
      configFile,
      sshdConfig({
        port: this.port,
        addresses,
        hostKeyFile: group.hostKeyFile,
        authorizedKeysFile: join(this.dir, 'authorized_keys'),
        maxSessions: this.options.maxSessions,
      }),
    );
    const log = openSync(join(this.dir, `sshd_${group.index}.log`), 'a');
    // detached: its own process group, so stopping it also ends its per-connection children.
    group.proc = spawn(SSHD_BINARY, ['-D', '-e', '-f', configFile], {
      detached: true,
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    group.proc.unref();
  }

  private async restartGroup(group: SshdGroup): Promise<void> {
    await stopProcess(group);
    this.spawnGroup(group);
    await this.groupUp(group);
  }

  /** Waits for every running address of the group; fails fast when sshd exits (e.g. port taken). */
  private async groupUp(group: SshdGroup): Promise<void> {
    const up = group.hosts.filter((h) => !group.stopped.has(h.index));
    const proc = group.proc;
    if (!proc || up.length === 0) return;
    let onExit: (code: number | null) => void = () => undefined;
    const exited = new Promise<never>((_, reject) => {
      onExit = (code) =>
        reject(
          new Error(
            `sshd harness: sshd ${group.index} exited (${code}): ${this.sshdLog(up[0]!.index).trim()}`,
          ),
        );
      proc.once('exit', onExit);
    });
    try {
      // One process binds all its addresses before it accepts, so its first answering means all
      // do: polling every address (a connection, a forked sshd child each) of a thousand hosts
      // every 50 ms swamped the machine. Generous: dozens of sshd processes starting at once on a
      // loaded 2-core machine are slow to listen; one that cannot start fails fast via `exited`.
      const [first, ...rest] = up;
      await Promise.race([this.waitUp(first!.index, 60_000), exited]);
      await Promise.race([Promise.all(rest.map((h) => this.waitUp(h.index, 60_000))), exited]);
    } finally {
      proc.off('exit', onExit);
      exited.catch(() => undefined);
    }
  }

  /** The sshd log of the process serving host i (for failure diagnostics). */
  sshdLog(i: number): string {
    try {
      return readFileSync(join(this.dir, `sshd_${this.groupOf(i).index}.log`), 'utf8');
    } catch {
      return '';
    }
  }
}

function randomPort(): number {
  return 20_000 + Math.floor(Math.random() * 40_000);
}

function killGroup(proc: ChildProcess | null, signal: NodeJS.Signals): void {
  if (!proc?.pid) return;
  try {
    process.kill(-proc.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * sshd puts each connection in its own session (setsid), so killing the listener's group
 * leaves open connections alive. A stopped host must look dead: kill every descendant.
 */
function killDescendants(rootPid: number): void {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentOf(Number(entry));
    if (ppid !== null) children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const stack = [...(children.get(rootPid) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    stack.push(...(children.get(pid) ?? []));
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Field 4, after the parenthesised command name (which may itself contain spaces).
    const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
    return ppid === undefined ? null : Number(ppid);
  } catch {
    return null;
  }
}

async function stopProcess(group: SshdGroup): Promise<void> {
  const proc = group.proc;
  group.proc = null;
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  if (proc.pid) killDescendants(proc.pid);
  killGroup(proc, 'SIGTERM');
  const timer = setTimeout(() => killGroup(proc, 'SIGKILL'), 2000);
  await exited;
  clearTimeout(timer);
  // Connection children left over in the group (they outlive the listener otherwise).
  killGroup(proc, 'SIGKILL');
}

/** Liveness by connecting: the host is up when it sends its `SSH-2.0-` banner. */
export async function waitForBanner(address: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    if (await bannerSeen(address, port)) return;
    if (Date.now() > deadline)
      throw new Error(`sshd harness: ${address}:${port} did not come up in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function bannerSeen(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: address, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('data', (d) => done(d.toString('latin1').startsWith('SSH-')));
    sock.once('error', () => done(false));
    sock.once('close', () => done(false));
  });
}
