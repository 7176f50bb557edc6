/**
 * Host-key decisions: pinned `ssh_host_key`, else known_hosts (plus the tofu file). Unknown →
 * refused (or recorded under tofu); changed → always refused, reported via onHostKeyChanged.
 */
import { appendFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { NodeDef, SshConnection } from '../../core/types.js';
import {
  algorithmsForKeyType,
  entryMatchesHost,
  fingerprint,
  hostToken,
  keyLine,
  keyTypeOfBlob,
  parseKnownHosts,
  parsePublicKeyLine,
  type KnownHostEntry,
} from './known-hosts.js';
import type { SshExecutorOptions } from './options.js';

interface ExpectedKey {
  keyType: string;
  keyBlob: Buffer;
}

interface CachedFile {
  mtimeMs: number;
  size: number;
  entries: KnownHostEntry[];
}

export class HostKeyChecker {
  private readonly cache = new Map<string, CachedFile>();
  private readonly tofuFile: string | undefined;

  constructor(
    private readonly options: Pick<
      SshExecutorOptions,
      'knownHostsFile' | 'hostKeyPolicy' | 'tofuKnownHostsFile' | 'onHostKeyChanged' | 'logger' | 'clock'
    >,
  ) {
    this.tofuFile = options.tofuKnownHostsFile ?? options.knownHostsFile;
    if (options.hostKeyPolicy === 'tofu' && !this.tofuFile)
      throw new Error(
        'ssh: host-key policy "tofu" needs a known_hosts file to record keys in (--known-hosts)',
      );
  }

  /** Host-key algorithms to offer, known types first (like OpenSSH), so a known key is negotiated. */
  preferredAlgorithms(node: NodeDef, conn: SshConnection): string[] {
    const types = new Set(this.expectedKeys(node, conn).keys.map((k) => k.keyType));
    return [...types].flatMap(algorithmsForKeyType);
  }

  /** Returns null when the key is accepted, else the refusal message. */
  check(node: NodeDef, conn: SshConnection, presented: Buffer): string | null {
    const token = hostToken(conn.host, conn.port);
    const where = `${conn.user}@${token}`;
    const { keys, revoked, source } = this.expectedKeys(node, conn);
    if (conn.hostKey !== undefined && keys.length === 0)
      return `ssh: node ${node.name}: ssh_host_key is not a valid public key line ("type base64"); fix the node file`;
    const actual = `${keyTypeOfBlob(presented)} ${fingerprint(presented)}`;
    if (revoked.some((b) => b.equals(presented)))
      return `ssh: node ${node.name} (${where}): host key ${actual} is marked @revoked in ${source}; refusing to connect`;
    if (keys.some((k) => k.keyBlob.equals(presented))) return null;
    if (keys.length === 0) return this.unknownHost(node, conn, presented, actual);
    const expected = keys.map((k) => `${k.keyType} ${fingerprint(k.keyBlob)}`).join(', ');
    this.options.onHostKeyChanged?.({
      node: node.name,
      host: token,
      expected,
      actual,
      at: this.options.clock.now(),
    });
    this.options.logger.error({ node: node.name, host: token, expected, actual }, 'ssh: host key changed');
    return (
      `ssh: node ${node.name} (${where}): HOST KEY CHANGED — expected ${expected} (from ${source}), ` +
      `server presented ${actual}; refusing to connect. If the change is legitimate, update ${source} ` +
      `(e.g. distcron keyscan ${node.name})`
    );
  }

  private unknownHost(node: NodeDef, conn: SshConnection, presented: Buffer, actual: string): string | null {
    const token = hostToken(conn.host, conn.port);
    if (this.options.hostKeyPolicy === 'tofu' && this.tofuFile) {
      this.record(this.tofuFile, keyLine(conn.host, conn.port, presented));
      this.options.logger.warn(
        { node: node.name, host: token, key: actual, file: this.tofuFile },
        'ssh: tofu recorded new host key',
      );
      return null;
    }
    const file = this.options.knownHostsFile
      ? `known_hosts ${this.options.knownHostsFile}`
      : 'no known_hosts file (--known-hosts)';
    return (
      `ssh: node ${node.name} (${conn.user}@${token}): unknown host key ${actual}, not in ${file}; ` +
      `run "distcron keyscan ${node.name}", pin ssh_host_key, or use --host-key-policy tofu`
    );
  }

  private expectedKeys(
    node: NodeDef,
    conn: SshConnection,
  ): { keys: ExpectedKey[]; revoked: Buffer[]; source: string } {
    if (conn.hostKey !== undefined) {
      const pinned = parsePublicKeyLine(conn.hostKey);
      return { keys: pinned ? [pinned] : [], revoked: [], source: `node ${node.name}'s ssh_host_key` };
    }
    const token = hostToken(conn.host, conn.port);
    const files = [this.options.knownHostsFile, this.tofuFile].filter(
      (f, i, a): f is string => !!f && a.indexOf(f) === i,
    );
    const matching = files.flatMap((f) => this.entries(f)).filter((e) => entryMatchesHost(e, token));
    return {
      keys: matching.filter((e) => e.marker === null),
      revoked: matching.filter((e) => e.marker === 'revoked').map((e) => e.keyBlob),
      source: files.join(' and ') || 'known_hosts',
    };
  }

  /** Parsed entries of a file, re-read only when it changed on disk. */
  private entries(file: string): KnownHostEntry[] {
    let stat;
    try {
      stat = statSync(file);
    } catch {
      return [];
    }
    const cached = this.cache.get(file);
    if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.entries;
    const entries = parseKnownHosts(readFileSync(file, 'utf8'));
    this.cache.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, entries });
    return entries;
  }

  private record(file: string, line: string): void {
    mkdirSync(dirname(file), { recursive: true });
    appendFileSync(file, line + '\n', { mode: 0o644 });
    this.cache.delete(file);
  }
}
