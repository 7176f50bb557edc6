import { createHmac, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { entryMatchesHost, hostToken, parseKnownHostsLine } from '../../../src/exec/ssh/known-hosts.js';

const KEY = 'AAAAC3NzaC1lZDI1NTE5AAAAIGvFj0bUXrJKbKkHNZqrXW0y8uhTeKZ4j6d1d1yqkbwL';

/** A hashed entry as `ssh-keygen -H` writes it, for the lower-cased name ssh looks up. */
function hashedLine(name: string): string {
  const salt = randomBytes(20);
  const hash = createHmac('sha1', salt).update(name).digest('base64');
  return `|1|${salt.toString('base64')}|${hash} ssh-ed25519 ${KEY}`;
}

describe('known_hosts lookup', () => {
  it('matches a hashed entry of the lower-cased name for a mixed-case ssh_host, as OpenSSH does', () => {
    const entry = parseKnownHostsLine(hashedLine('db1.example.com'))!;
    expect(entryMatchesHost(entry, hostToken('DB1.Example.COM', 22))).to.equal(true);
    const withPort = parseKnownHostsLine(hashedLine('[db1.example.com]:2222'))!;
    expect(entryMatchesHost(withPort, hostToken('Db1.Example.com', 2222))).to.equal(true);
    expect(entryMatchesHost(withPort, hostToken('db2.example.com', 2222))).to.equal(false);
  });

  it('matches plain entries case-insensitively', () => {
    const entry = parseKnownHostsLine(`DB1.example.com,10.0.0.5 ssh-ed25519 ${KEY}`)!;
    expect(entryMatchesHost(entry, hostToken('db1.EXAMPLE.com', 22))).to.equal(true);
  });
});
