import { expect } from 'chai';
import { parseNodeText } from '../../../src/config/index.js';
import { marked } from './marked.js';

const ssh = (options: string): string =>
  `{"roles": ["db"], "connection_type": "ssh",\n "connection_options": {"ssh_user": "deploy", "ssh_private_key_file": "/k", ${options}}}`;

const CASES: { what: string; source: string; path: string; message: string }[] = [
  {
    what: 'a missing connection_type',
    source: '⟪{"roles": ["db"]}',
    path: '$',
    message: 'missing "connection_type"',
  },
  {
    what: 'an unknown connection_type',
    source: '{"connection_type": ⟪"telnet"}',
    path: '$.connection_type',
    message: 'must be one of "ssh", "local"',
  },
  {
    what: 'an ssh option outside connection_options',
    source: '{"connection_type": "local", ⟪"ssh_host": "x"}',
    path: '$.ssh_host',
    message: 'it belongs inside "connection_options"',
  },
  {
    what: 'an ssh node without options',
    source: '{"connection_type": ⟪"ssh"}',
    path: '$.connection_type',
    message: 'needs "connection_options"',
  },
  {
    what: 'an ssh port out of range',
    source: ssh('"ssh_host": ⟪"10.0.0.5:99999"'),
    path: '$.connection_options.ssh_host',
    message: 'invalid port "99999"',
  },
  {
    what: 'a non-numeric ssh port',
    source: ssh('"ssh_host": ⟪"db1:ssh"'),
    path: '$.connection_options.ssh_host',
    message: 'invalid port "ssh"',
  },
  {
    what: 'an ssh host that is no host name',
    source: ssh('"ssh_host": ⟪"db 1"'),
    path: '$.connection_options.ssh_host',
    message: 'is not "host", "host:port" or "[ipv6]:port"',
  },
  {
    what: 'a malformed bracketed IPv6 host',
    source: ssh('"ssh_host": ⟪"[::1:22"'),
    path: '$.connection_options.ssh_host',
    message: 'is not "host", "host:port"',
  },
  {
    what: 'a missing ssh_host',
    source: '{"connection_type": "ssh", "connection_options": ⟪{"ssh_user": "u", "ssh_agent": true}}',
    path: '$.connection_options',
    message: 'missing "ssh_host"',
  },
  {
    what: 'no way to authenticate',
    source: '{"connection_type": "ssh", "connection_options": ⟪{"ssh_host": "h", "ssh_user": "u"}}',
    path: '$.connection_options',
    message: '"ssh_private_key_file" or "ssh_agent": true',
  },
  {
    what: 'a passphrase env that is no variable name',
    source: ssh('"ssh_host": "h", "ssh_private_key_passphrase_env": ⟪"my pass"'),
    path: '$.connection_options.ssh_private_key_passphrase_env',
    message: 'must name an environment variable',
  },
  {
    what: 'a malformed pinned host key',
    source: ssh('"ssh_host": "h", "ssh_host_key": ⟪"AAAA"'),
    path: '$.connection_options.ssh_host_key',
    message: '"ssh_host_key" must be a public key line',
  },
  {
    what: 'a node jumping through itself',
    source: ssh('"ssh_host": "h", "ssh_jump": ⟪"db1"'),
    path: '$.connection_options.ssh_jump',
    message: 'names this node itself',
  },
  {
    what: 'a string for ssh_agent',
    source: ssh('"ssh_host": "h", "ssh_agent": ⟪"yes"'),
    path: '$.connection_options.ssh_agent',
    message: 'must be true or false',
  },
  {
    what: 'options on a local node',
    source: '{"connection_type": "local", "connection_options": ⟪{"ssh_host": "h"}}',
    path: '$.connection_options',
    message: 'a "local" node takes no "connection_options"',
  },
  {
    what: 'a zero max_concurrent_runs',
    source: '{"connection_type": "local", "max_concurrent_runs": ⟪0}',
    path: '$.max_concurrent_runs',
    message: 'must be from 1 to',
  },
  {
    what: 'a non-string label',
    source: '{"connection_type": "local", "labels": {"rack": ⟪3}}',
    path: '$.labels.rack',
    message: 'quote it: "3"',
  },
  {
    what: 'roles that are not an array',
    source: '{"connection_type": "local", "roles": ⟪"db"}',
    path: '$.roles',
    message: 'must be an array of strings',
  },
  {
    what: 'a misspelt field',
    source: '{"connection_type": "local", ⟪"disabeld": true}',
    path: '$.disabeld',
    message: 'did you mean "disabled"?',
  },
  {
    what: 'a capitalised distcrond field',
    source: '{"connection_type": "local", ⟪"Roles": ["db"]}',
    path: '$.Roles',
    message: 'did you mean "roles"?',
  },
];

describe('config: bad node definitions', () => {
  for (const c of CASES) {
    it(`reports ${c.what} at its exact place`, () => {
      const { text, line, column } = marked(c.source);
      const { node, problems } = parseNodeText('nodes.d/db1.json', text);
      expect(node).to.equal(undefined);
      const hit = problems.find((p) => p.message.includes(c.message));
      expect(hit, `a problem saying ${c.message}; got ${JSON.stringify(problems)}`).to.not.equal(undefined);
      expect({ line: hit!.line, column: hit!.column, path: hit!.path }).to.deep.equal({
        line,
        column,
        path: c.path,
      });
    });
  }
});
