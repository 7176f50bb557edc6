import { expect } from 'chai';
import { hostAllowed, splitHostHeader, type SiteRules } from '../../../src/api/guards.js';

const rules: SiteRules = {
  listenHost: '0.0.0.0',
  port: 8080,
  allowedHosts: ['cron.example', 'Proxy.Example:443'],
  corsOrigins: [],
  baseUrl: null,
  insecureNoAuth: false,
};

describe('api guards: the Host header', () => {
  it('splits names, IPv4 and bracketed IPv6 literals from their port', () => {
    expect(splitHostHeader('Cron.Example:8080')).to.deep.equal({ name: 'cron.example', port: 8080 });
    expect(splitHostHeader('[::1]:8080')).to.deep.equal({ name: '[::1]', port: 8080 });
    expect(splitHostHeader('10.0.0.1')).to.deep.equal({ name: '10.0.0.1', port: null });
    for (const bad of ['', 'a:b:c', 'host:', 'a b', 'x:123456'])
      expect(splitHostHeader(bad), bad).to.equal(null);
  });

  it('accepts loopback names, IP literals, the listen host and allowed names on our port (or none)', () => {
    for (const host of [
      'localhost:8080',
      '127.0.0.1:8080',
      '127.9.9.9',
      '[::1]:8080',
      '192.168.1.20:8080',
      '0.0.0.0:8080',
      'cron.example',
      'CRON.example:8080',
      'proxy.example:443',
    ])
      expect(hostAllowed(host, rules), host).to.equal(true);
  });

  it('refuses other names, a port that is not ours and a missing Host', () => {
    for (const host of [
      'evil.example',
      'evil.example:8080',
      'localhost:9090',
      'cron.example:443',
      'proxy.example',
      'proxy.example:8080',
      'localhost.evil.example',
      '127.0.0.1.nip.io:8080',
    ])
      expect(hostAllowed(host, rules), host).to.equal(false);
    expect(hostAllowed(undefined, rules)).to.equal(false);
  });
});
