/**
 * OpenSSH known_hosts format: plain host lists (`host`, `[host]:port`, comma lists, `*`/`?`
 * wildcards, `!negation`), hashed entries (`|1|salt|hash`), and the `@revoked` marker.
 * `@cert-authority` lines are parsed but never match (certificates are not supported).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';

export interface KnownHostEntry {
  marker: 'revoked' | 'cert-authority' | null;
  /** The host field as written (hashed or a comma list). */
  hostField: string;
  keyType: string;
  keyBlob: Buffer;
}

/** Parses a whole file; malformed lines are skipped, like OpenSSH does. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const raw of text.split('\n')) {
    const entry = parseKnownHostsLine(raw);
    if (entry) entries.push(entry);
  }
  return entries;
}

export function parseKnownHostsLine(raw: string): KnownHostEntry | null {
  const line = raw.trim();
  if (line === '' || line.startsWith('#')) return null;
  const fields = line.split(/\s+/);
  let marker: KnownHostEntry['marker'] = null;
  if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
    marker = fields[0] === '@revoked' ? 'revoked' : 'cert-authority';
    fields.shift();
  }
  const [hostField, keyType, b64] = fields;
  if (!hostField || !keyType || !b64) return null;
  const keyBlob = decodeKeyBlob(b64);
  if (!keyBlob) return null;
  return { marker, hostField, keyType, keyBlob };
}

/**
 * The name OpenSSH looks up: `host` on port 22, else `[host]:port`, lower-cased as ssh does
 * before any lookup (a hashed entry is the HMAC of the lower-cased name).
 */
export function hostToken(host: string, port: number): string {
  const bare = (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host).toLowerCase();
  return port === 22 ? bare : `[${bare}]:${port}`;
}

export function entryMatchesHost(entry: KnownHostEntry, token: string): boolean {
  if (entry.hostField.startsWith('|1|')) return hashedMatches(entry.hostField, token);
  let matched = false;
  for (const pattern of entry.hostField.split(',')) {
    const negated = pattern.startsWith('!');
    if (!patternMatches(negated ? pattern.slice(1) : pattern, token)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function hashedMatches(field: string, token: string): boolean {
  const [, , salt, hash] = field.split('|');
  if (!salt || !hash) return false;
  const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(token).digest('base64');
  return digest === hash;
}

function patternMatches(pattern: string, token: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern.toLowerCase() === token.toLowerCase();
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(token);
}

/** Parses "type base64 [comment]" (a pinned key, or a known_hosts line with its host field). */
export function parsePublicKeyLine(line: string): { keyType: string; keyBlob: Buffer } | null {
  const fields = line.trim().split(/\s+/);
  for (let i = 0; i + 1 < fields.length; i++) {
    const blob = decodeKeyBlob(fields[i + 1]!);
    if (blob && keyTypeOfBlob(blob) === fields[i]) return { keyType: fields[i]!, keyBlob: blob };
  }
  return null;
}

function decodeKeyBlob(b64: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return null;
  const blob = Buffer.from(b64, 'base64');
  return keyTypeOfBlob(blob) ? blob : null;
}

/** The algorithm name at the start of an SSH public key blob (e.g. "ssh-ed25519"). */
export function keyTypeOfBlob(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || blob.length < 4 + len) return null;
  const type = blob.subarray(4, 4 + len).toString('latin1');
  return /^[a-z0-9@.-]+$/.test(type) ? type : null;
}

/** OpenSSH-style fingerprint: "SHA256:" + unpadded base64 of the blob's SHA-256. */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

export function keyLine(host: string, port: number, blob: Buffer, hashed = false): string {
  const token = hostToken(host, port);
  const field = hashed ? hashHostToken(token) : token;
  return `${field} ${keyTypeOfBlob(blob)} ${blob.toString('base64')}`;
}

export function hashHostToken(token: string): string {
  const salt = randomBytes(20);
  const hash = createHmac('sha1', salt).update(token).digest('base64');
  return `|1|${salt.toString('base64')}|${hash}`;
}

/**
 * Removes `token` from every line that names it: a hashed or single-host line is dropped, a
 * comma list keeps its other hosts. Comments, markers and other hosts' lines stay untouched.
 */
export function removeHost(text: string, token: string): { text: string; removed: number } {
  let removed = 0;
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const entry = parseKnownHostsLine(raw);
    if (!entry || entry.marker !== null || !entryMatchesHost(entry, token)) {
      out.push(raw);
      continue;
    }
    removed++;
    const rest = entry.hostField.startsWith('|1|') ? [] : otherHosts(entry.hostField, token);
    if (rest.length > 0) out.push(raw.trim().replace(entry.hostField, rest.join(',')));
  }
  return { text: out.join('\n'), removed };
}

function otherHosts(hostField: string, token: string): string[] {
  return hostField.split(',').filter((p) => p.toLowerCase() !== token.toLowerCase());
}

/** ssh2 host-key algorithm names that can present a key of this type. */
export function algorithmsForKeyType(keyType: string): string[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return [keyType];
}
