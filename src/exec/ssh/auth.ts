/**
 * Client credentials for a node: its private key file (passphrase from the env var the node
 * names, never logged) and/or the ssh-agent at SSH_AUTH_SOCK. Problems become clear errors.
 */
import { readFileSync, statSync } from 'node:fs';
import ssh2 from 'ssh2';
import type { NodeDef, SshConnection } from '../../core/types.js';

export interface Credentials {
  /** Already parsed (and decrypted). */
  privateKey?: ssh2.ParsedKey;
  agent?: string;
}

/** ssh2 auth attempts in order: agent first (like OpenSSH), then the key file. */
export function authMethods(username: string, creds: Credentials): ssh2.AnyAuthMethod[] {
  const methods: ssh2.AnyAuthMethod[] = [];
  if (creds.agent) methods.push({ type: 'agent', username, agent: creds.agent });
  if (creds.privateKey) methods.push({ type: 'publickey', username, key: creds.privateKey });
  return methods;
}

/**
 * Decrypting an OpenSSH key runs bcrypt (~2 s for the default 16 rounds), so each key file is
 * parsed once per (file version, passphrase) and shared by every connection.
 */
const parsedKeys = new Map<string, { stamp: string; passphrase: string | undefined; key: ssh2.ParsedKey }>();

export function credentialsFor(node: NodeDef, conn: SshConnection, env = process.env): Credentials {
  const creds: Credentials = {};
  if (conn.agent) {
    const sock = env.SSH_AUTH_SOCK;
    if (!sock)
      throw new Error(
        `ssh: node ${node.name} uses ssh_agent but SSH_AUTH_SOCK is not set; start ssh-agent for the daemon`,
      );
    creds.agent = sock;
  }
  if (conn.privateKeyFile !== undefined) Object.assign(creds, readKey(node, conn, conn.privateKeyFile, env));
  if (!creds.agent && !creds.privateKey)
    throw new Error(`ssh: node ${node.name} has no credentials; set ssh_private_key_file or ssh_agent: true`);
  return creds;
}

function readKey(node: NodeDef, conn: SshConnection, file: string, env: NodeJS.ProcessEnv): Credentials {
  const passphrase = passphraseFor(node, conn, env);
  const stamp = fileStamp(node, file);
  const cached = parsedKeys.get(file);
  if (cached && cached.stamp === stamp && cached.passphrase === passphrase) return { privateKey: cached.key };
  const raw = readFileSync(file);
  const parsed = ssh2.utils.parseKey(raw, passphrase);
  if (parsed instanceof Error) throw new Error(keyProblem(node, conn, file, parsed, passphrase));
  // OpenSSH-format files parse to a list (of one key).
  const key: ssh2.ParsedKey = Array.isArray(parsed) ? (parsed[0] as ssh2.ParsedKey) : parsed;
  parsedKeys.set(file, { stamp, passphrase, key });
  return { privateKey: key };
}

function fileStamp(node: NodeDef, file: string): string {
  try {
    const st = statSync(file);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch (err) {
    throw new Error(
      `ssh: node ${node.name}: cannot read private key file ${file}: ${(err as Error).message}`,
    );
  }
}

function passphraseFor(node: NodeDef, conn: SshConnection, env: NodeJS.ProcessEnv): string | undefined {
  if (conn.passphraseEnv === undefined) return undefined;
  const value = env[conn.passphraseEnv];
  if (value === undefined)
    throw new Error(
      `ssh: node ${node.name}: env var ${conn.passphraseEnv} (ssh_private_key_passphrase_env) is not set; ` +
        'set it in the daemon environment',
    );
  return value;
}

function keyProblem(
  node: NodeDef,
  conn: SshConnection,
  file: string,
  err: Error,
  passphrase?: string,
): string {
  const prefix = `ssh: node ${node.name}: private key file ${file}`;
  if (/encrypted/i.test(err.message) && passphrase === undefined)
    return `${prefix} is encrypted; name the env var holding its passphrase in ssh_private_key_passphrase_env`;
  if (/bad passphrase|decrypt|integrity/i.test(err.message))
    return `${prefix} cannot be decrypted: wrong passphrase in ${conn.passphraseEnv}`;
  return `${prefix} is not a usable private key (${err.message}); use an OpenSSH or PEM private key`;
}
