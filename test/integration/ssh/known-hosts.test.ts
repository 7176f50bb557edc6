import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  entryMatchesHost,
  fingerprint,
  hashHostToken,
  hostToken,
  parseKnownHosts,
  parsePublicKeyLine,
  removeHost,
} from '../../../src/exec/ssh/known-hosts.js';

// A fixed ed25519 public key (any valid blob will do: only the format is under test).
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const matches = (hostField: string, host: string, port: number) =>
  entryMatchesHost(parseKnownHosts(`${hostField} ${KEY}`)[0]!, hostToken(host, port));

describe('known_hosts parsing (OpenSSH format)', () => {
  it('uses the bare host on port 22 and [host]:port elsewhere', () => {
    expect(hostToken('db1', 22)).to.equal('db1');
    expect(hostToken('db1', 2222)).to.equal('[db1]:2222');
    expect(hostToken('[::1]', 2222)).to.equal('[::1]:2222');
  });

  it('matches any host of a comma list, case-insensitively', () => {
    expect(matches('web1,DB1,10.0.0.5', 'db1', 22)).to.equal(true);
    expect(matches('web1,db1', 'db2', 22)).to.equal(false);
  });

  it('does not match a bare entry for a non-22 port', () => {
    expect(matches('db1', 'db1', 2222)).to.equal(false);
    expect(matches('[db1]:2222', 'db1', 2222)).to.equal(true);
  });

  it('honours wildcards and negations', () => {
    expect(matches('*.example.com,!bad.example.com', 'good.example.com', 22)).to.equal(true);
    expect(matches('*.example.com,!bad.example.com', 'bad.example.com', 22)).to.equal(false);
    expect(matches('10.0.0.?', '10.0.0.7', 22)).to.equal(true);
  });

  it('matches hashed entries written by ssh-keygen -H', () => {
    const dir = mkdtempSync(join(tmpdir(), 'distcron-kh-'));
    try {
      const file = join(dir, 'kh');
      writeFileSync(file, `[127.0.0.9]:2200 ${KEY}\n`);
      execFileSync('/usr/bin/ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
      const [entry] = parseKnownHosts(readFileSync(file, 'utf8'));
      expect(entry!.hostField).to.match(/^\|1\|/);
      expect(entryMatchesHost(entry!, '[127.0.0.9]:2200')).to.equal(true);
      expect(entryMatchesHost(entry!, '[127.0.0.9]:2201')).to.equal(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('matches hashes it writes itself', () => {
    expect(matches(hashHostToken('[h]:1'), 'h', 1)).to.equal(true);
  });

  it('reads @revoked and @cert-authority markers and skips comments and junk', () => {
    const entries = parseKnownHosts(
      `# comment\n\n@revoked h ${KEY}\n@cert-authority *.x ${KEY}\nh ssh-ed25519 !!notbase64\njunk\n`,
    );
    expect(entries.map((e) => e.marker)).to.deep.equal(['revoked', 'cert-authority']);
  });

  it('parses a pinned key line with or without a host field and comment', () => {
    const a = parsePublicKeyLine(`${KEY} root@host`);
    const b = parsePublicKeyLine(`[h]:22 ${KEY}`);
    expect(a!.keyType).to.equal('ssh-ed25519');
    expect(fingerprint(a!.keyBlob)).to.equal(fingerprint(b!.keyBlob));
    expect(parsePublicKeyLine('ssh-ed25519 bm90IGEga2V5')).to.equal(null);
  });

  it('removes a host from its lines while keeping other hosts of a comma list', () => {
    const text = `a,b ${KEY}\n${hashHostToken('b')} ${KEY}\nc ${KEY}\n@revoked b ${KEY}\n`;
    const result = removeHost(text, 'b');
    expect(result.removed).to.equal(2);
    expect(result.text).to.equal(`a ${KEY}\nc ${KEY}\n@revoked b ${KEY}\n`);
  });
});
