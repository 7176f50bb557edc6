/**
 * `distcron keyscan NODE...`: connects to each ssh node, takes the host key it presents (no
 * login needed) and records it in the known_hosts file, replacing that host's old lines.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { dirname } from 'node:path';
import ssh2 from 'ssh2';
import type { NodeDef, SshConnection } from '../core/types.js';
import { fingerprint, hostToken, keyLine, keyTypeOfBlob, removeHost } from '../exec/ssh/known-hosts.js';

export interface KeyscanOptions {
  nodes: NodeDef[];
  knownHostsFile: string;
  connectTimeoutMs: number;
  out: { write(text: string): unknown };
}

/** Returns the process exit code: 0 when every node's key was recorded, 1 otherwise. */
export async function runKeyscan(o: KeyscanOptions): Promise<number> {
  const results = await Promise.all(o.nodes.map((node) => scanNode(node, o.connectTimeoutMs)));
  let text = existsSync(o.knownHostsFile) ? readFileSync(o.knownHostsFile, 'utf8') : '';
  let failures = 0;
  for (const r of results) {
    if ('error' in r) {
      failures++;
      o.out.write(`${r.node}: FAILED: ${r.error}\n`);
      continue;
    }
    const token = hostToken(r.conn.host, r.conn.port);
    const removed = removeHost(text, token);
    const same = removed.removed > 0 && text.includes(r.key.toString('base64'));
    text = appendLine(removed.text, keyLine(r.conn.host, r.conn.port, r.key));
    const what = same
      ? 'unchanged'
      : removed.removed > 0
        ? `replaced ${removed.removed} old line(s)`
        : 'added';
    o.out.write(`${r.node}: ${token} ${keyTypeOfBlob(r.key)} ${fingerprint(r.key)} (${what})\n`);
  }
  if (results.some((r) => !('error' in r))) writeAtomically(o.knownHostsFile, text);
  o.out.write(`keyscan: ${results.length - failures} recorded, ${failures} failed → ${o.knownHostsFile}\n`);
  return failures === 0 ? 0 : 1;
}

type ScanResult = { node: string; conn: SshConnection; key: Buffer } | { node: string; error: string };

function scanNode(node: NodeDef, timeoutMs: number): Promise<ScanResult> {
  if (node.connection.type !== 'ssh') return Promise.resolve({ node: node.name, error: 'not an ssh node' });
  const conn = node.connection;
  if (conn.jump !== undefined)
    return Promise.resolve({
      node: node.name,
      error: `behind bastion ${conn.jump}; keyscan connects directly only: pin its ssh_host_key or use --host-key-policy tofu`,
    });
  return hostKeyOf(conn, timeoutMs).then(
    (key) => ({ node: node.name, conn, key }),
    (err: Error) => ({ node: node.name, error: err.message }),
  );
}

/** Runs the key exchange only: the verifier keeps the key and refuses, so no login happens. */
function hostKeyOf(conn: SshConnection, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    const host = conn.host.startsWith('[') ? conn.host.slice(1, -1) : conn.host;
    const sock = tcpConnect({ host, port: conn.port });
    let key: Buffer | null = null;
    const finish = (err: Error | null) => {
      clearTimeout(timer);
      client.end();
      sock.destroy();
      if (key) resolve(key);
      else reject(err ?? new Error('no host key received'));
    };
    const timer = setTimeout(
      () => finish(new Error(`no SSH key exchange within ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.on('error', (err) => finish(key ? null : err));
    client.on('ready', () => finish(null));
    client.connect({
      sock,
      username: conn.user,
      readyTimeout: 0,
      hostVerifier: (blob: Buffer) => {
        key = blob;
        return false;
      },
    });
  });
}

function appendLine(text: string, line: string): string {
  const body = text.replace(/\n*$/, '');
  return (body === '' ? '' : body + '\n') + line + '\n';
}

function writeAtomically(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, file);
}
