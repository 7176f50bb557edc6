/** A node file's text → NodeDef (SPEC §3), with every problem located. Pure. */
import type { ConfigProblem, NodeDef, SshConnection } from '../core/types.js';
import {
  objectFields,
  readBoolean,
  readEnum,
  readInteger,
  readString,
  readStringArray,
  readStringMap,
  wrongType,
  checkDocument,
  type ProblemSink,
  type Fields,
  type Located,
} from './checks.js';
import { configNameOf } from './names.js';
import { ENV_NAME } from './parse-notify.js';
import { parseSshHost } from './ssh-host.js';

export const DEFAULT_MAX_CONCURRENT_RUNS = 8;
const NODE_FIELDS = [
  'name',
  'roles',
  'connection_type',
  'connection_options',
  'max_concurrent_runs',
  'labels',
  'disabled',
  'description',
];
const SSH_FIELDS = [
  'ssh_host',
  'ssh_user',
  'ssh_private_key_file',
  'ssh_private_key_passphrase_env',
  'ssh_agent',
  'ssh_host_key',
  'ssh_jump',
];
const NODE_HINTS: Record<string, string> = Object.fromEntries(
  SSH_FIELDS.map((f) => [f, `it belongs inside "connection_options": {"${f}": ...}`]),
);
const HOST_KEY = /^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,2}( .*)?$/;

export function parseNodeText(file: string, text: string): { node?: NodeDef; problems: ConfigProblem[] } {
  const name = configNameOf(file);
  const { def, problems } = checkDocument(file, text, (sink, root) => nodeFromTree(sink, root, name, file));
  return def ? { node: def, problems } : { problems };
}

function nodeFromTree(sink: ProblemSink, root: Located, name: string, file: string): NodeDef | undefined {
  if (root.node.type !== 'object') return wrongType(sink, root, 'a JSON object (a node definition)');
  const fields = objectFields(sink, root, NODE_FIELDS, NODE_HINTS);
  if (!fields) return undefined;
  const nameField = fields.get('name');
  const declared = nameField ? readString(sink, nameField) : undefined;
  if (nameField && declared !== undefined && declared !== name)
    sink.warn(nameField, `"name" "${declared}" is ignored; the name comes from the file name ("${name}")`);
  const connection = parseConnection(sink, root, fields, name);
  const node: NodeDef = {
    name,
    file,
    roles: optional(fields.get('roles'), (f) => readStringArray(sink, f)) ?? [],
    labels: optional(fields.get('labels'), (f) => readStringMap(sink, f)) ?? {},
    connection: connection ?? { type: 'local' },
    maxConcurrentRuns:
      optional(fields.get('max_concurrent_runs'), (f) => readInteger(sink, f, 1, 10_000)) ??
      DEFAULT_MAX_CONCURRENT_RUNS,
    disabled: optional(fields.get('disabled'), (f) => readBoolean(sink, f)) ?? false,
  };
  const description = optional(fields.get('description'), (f) => readString(sink, f));
  if (description !== undefined) node.description = description;
  return node;
}

function optional<T>(field: Located | undefined, read: (field: Located) => T | undefined): T | undefined {
  return field ? read(field) : undefined;
}

function parseConnection(
  sink: ProblemSink,
  root: Located,
  fields: Fields,
  name: string,
): NodeDef['connection'] | undefined {
  const typeField = fields.get('connection_type');
  const optionsField = fields.get('connection_options');
  if (!typeField) return sink.error(root, 'missing "connection_type"; use "ssh" or "local"');
  const type = readEnum(sink, typeField, ['ssh', 'local'] as const);
  if (type === 'local') {
    if (
      optionsField &&
      (optionsField.node.type !== 'object' || (optionsField.node.children ?? []).length > 0)
    )
      sink.error(
        optionsField,
        'a "local" node takes no "connection_options"; remove them or use "connection_type": "ssh"',
      );
    return { type: 'local' };
  }
  if (type !== 'ssh') return undefined;
  if (!optionsField)
    return sink.error(
      typeField,
      'an "ssh" node needs "connection_options" with at least "ssh_host" and "ssh_user"',
    );
  return parseSsh(sink, optionsField, name);
}

function parseSsh(sink: ProblemSink, at: Located, name: string): SshConnection | undefined {
  const fields = objectFields(sink, at, SSH_FIELDS);
  if (!fields) return undefined;
  const address = required(sink, at, fields, 'ssh_host', '"ssh_host": "10.0.0.5:22"', (f) =>
    readHost(sink, f),
  );
  const user = required(sink, at, fields, 'ssh_user', '"ssh_user": "deploy"', (f) =>
    readString(sink, f, { nonEmpty: true }),
  );
  const agent = optional(fields.get('ssh_agent'), (f) => readBoolean(sink, f)) ?? false;
  const keyFile = optional(fields.get('ssh_private_key_file'), (f) =>
    readString(sink, f, { nonEmpty: true }),
  );
  if (!agent && !fields.has('ssh_private_key_file'))
    sink.error(at, 'an ssh node needs "ssh_private_key_file" or "ssh_agent": true to authenticate');
  if (!address || user === undefined) return undefined;
  const connection: SshConnection = { type: 'ssh', host: address.host, port: address.port, user, agent };
  if (keyFile !== undefined) connection.privateKeyFile = keyFile;
  const passphraseEnv = optional(fields.get('ssh_private_key_passphrase_env'), (f) => readEnvName(sink, f));
  if (passphraseEnv !== undefined) connection.passphraseEnv = passphraseEnv;
  const hostKey = optional(fields.get('ssh_host_key'), (f) => readHostKey(sink, f));
  if (hostKey !== undefined) connection.hostKey = hostKey;
  const jump = optional(fields.get('ssh_jump'), (f) => readJump(sink, f, name));
  if (jump !== undefined) connection.jump = jump;
  return connection;
}

function required<T>(
  sink: ProblemSink,
  at: Located,
  fields: Fields,
  key: string,
  example: string,
  read: (field: Located) => T | undefined,
): T | undefined {
  const field = fields.get(key);
  if (!field) return sink.error(at, `missing "${key}" in "connection_options", e.g. ${example}`);
  return read(field);
}

function readHost(sink: ProblemSink, at: Located): { host: string; port: number } | undefined {
  const value = readString(sink, at, { nonEmpty: true });
  if (value === undefined) return undefined;
  const parsed = parseSshHost(value);
  if ('error' in parsed) return sink.error(at, `"ssh_host" ${parsed.error}`);
  return parsed;
}

function readEnvName(sink: ProblemSink, at: Located): string | undefined {
  const value = readString(sink, at, { nonEmpty: true });
  if (value !== undefined && !ENV_NAME.test(value))
    return sink.error(
      at,
      `"${String(at.segment)}" must name an environment variable like "DB1_KEY_PASSPHRASE", not "${value}"`,
    );
  return value;
}

function readHostKey(sink: ProblemSink, at: Located): string | undefined {
  const value = readString(sink, at, { nonEmpty: true })?.trim();
  if (value !== undefined && !HOST_KEY.test(value))
    return sink.error(
      at,
      '"ssh_host_key" must be a public key line like "ssh-ed25519 AAAAC3Nza..." (as in known_hosts, without the host name)',
    );
  return value;
}

function readJump(sink: ProblemSink, at: Located, self: string): string | undefined {
  const value = readString(sink, at, { nonEmpty: true });
  if (value === self)
    return sink.error(at, `"ssh_jump" names this node itself; name another ssh node as bastion`);
  return value;
}
