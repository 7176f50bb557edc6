/**
 * Opens one authenticated ssh2 connection to a node, over TCP (TCP_NODELAY set: without it a
 * small round-trip stalls on delayed ACKs) or over a stream forwarded through a bastion.
 * Every failure rejects with a ConnectError whose message names the node, user and host.
 */
import { MAX_TIMER_MS } from '../../core/clock.js';
import { connect as tcpConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { NodeDef, SshConnection } from '../../core/types.js';
import { authMethods, type Credentials } from './auth.js';
import type { HostKeyChecker } from './host-keys.js';
import { hostToken } from './known-hosts.js';

/** The node could not be reached at all: placement may fail over. */
export class ConnectError extends Error {
  readonly connectFailed = true;
}

export interface OpenParams {
  node: NodeDef;
  conn: SshConnection;
  creds: Credentials;
  checker: HostKeyChecker;
  timeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  /** A stream already connected to the target (through a bastion); TCP otherwise. */
  stream?: Duplex;
}

const KEX = [
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'diffie-hellman-group14-sha256',
];
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

export function openClient(p: OpenParams): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    const sock = p.stream ?? tcpSocket(p.conn);
    let refusal: string | null = null;
    let settled = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!err) return resolve(client);
      client.end();
      sock.destroy();
      reject(err instanceof ConnectError ? err : new ConnectError(describe(p, err, refusal)));
    };
    const timer = setTimeout(
      () => finish(new ConnectError(timeoutMessage(p))),
      Math.min(p.timeoutMs, MAX_TIMER_MS),
    );
    client.once('ready', () => finish(null));
    client.on('error', (err) => finish(err));
    client.once('close', () => finish(new Error('connection closed during handshake')));
    client.connect({
      sock,
      username: p.conn.user,
      authHandler: authMethods(p.conn.user, p.creds),
      readyTimeout: 0,
      keepaliveInterval: p.keepaliveIntervalMs,
      keepaliveCountMax: p.keepaliveCountMax,
      algorithms: {
        kex: KEX as ssh2.KexAlgorithm[],
        serverHostKey: hostKeyOrder(p) as ssh2.ServerHostKeyAlgorithm[],
      },
      hostVerifier: (key: Buffer) => {
        refusal = p.checker.check(p.node, p.conn, key);
        return refusal === null;
      },
    });
  });
}

function tcpSocket(conn: SshConnection): Duplex {
  const host = conn.host.startsWith('[') ? conn.host.slice(1, -1) : conn.host;
  const sock = tcpConnect({ host, port: conn.port });
  sock.setNoDelay(true);
  return sock;
}

function hostKeyOrder(p: OpenParams): string[] {
  const known = p.checker.preferredAlgorithms(p.node, p.conn).filter((a) => HOST_KEY_ALGORITHMS.includes(a));
  return [...known, ...HOST_KEY_ALGORITHMS.filter((a) => !known.includes(a))];
}

export function target(p: { node: NodeDef; conn: SshConnection }): string {
  return `node ${p.node.name} (${p.conn.user}@${hostToken(p.conn.host, p.conn.port)})`;
}

function timeoutMessage(p: OpenParams): string {
  return (
    `ssh: ${target(p)}: no SSH session within ${p.timeoutMs} ms (--ssh-connect-timeout); ` +
    'the host is down, filtered, or not an SSH server'
  );
}

function describe(p: OpenParams, err: Error, refusal: string | null): string {
  if (refusal) return refusal;
  const code = (err as NodeJS.ErrnoException).code;
  const msg = err.message;
  if (code === 'ECONNREFUSED')
    return `ssh: ${target(p)}: connection refused; is sshd running and listening on that port?`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH')
    return `ssh: ${target(p)}: host unreachable (${code})`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `ssh: ${target(p)}: cannot resolve host name (${code})`;
  if (/authentication methods failed/i.test(msg)) return authMessage(p);
  if (/handshake|protocol|ident|kex/i.test(msg)) return `ssh: ${target(p)}: SSH handshake failed: ${msg}`;
  return `ssh: ${target(p)}: connection failed: ${msg}`;
}

function authMessage(p: OpenParams): string {
  const via = [p.conn.privateKeyFile && `key ${p.conn.privateKeyFile}`, p.conn.agent && 'ssh-agent']
    .filter(Boolean)
    .join(' and ');
  return (
    `ssh: ${target(p)}: authentication failed for user ${p.conn.user} with ${via}; ` +
    `check that the public key is in ${p.conn.user}'s authorized_keys on the host and that the user exists`
  );
}
