import { formatDuration, MAX_DURATION_MS, parseDuration } from '../core/duration.js';
import type { DaemonOptions } from '../daemon/options.js';

type Parse = (value: string) => unknown;

export interface FlagSpec {
  flag: string;
  key: keyof DaemonOptions;
  help: string;
  parse?: Parse;
  /** Secrets: accepted from the environment only (never on a command line that `ps` shows). */
  envOnly?: boolean;
  /** A switch: `--flag` alone means true; the env var takes true|false. */
  switch?: boolean;
}

const duration: Parse = (v) => {
  const ms = parseDuration(v);
  if (ms > MAX_DURATION_MS)
    throw new Error(`"${v}" is longer than the maximum ${formatDuration(MAX_DURATION_MS)}`);
  return ms;
};
/** Retention counts in days; a century is the bound that keeps its arithmetic exact. */
const MAX_RETENTION_DAYS = 36_500;
const integer: Parse = (v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a non-negative integer, got "${v}"`);
  return n;
};
const positiveInteger: Parse = (v) => {
  const n = integer(v) as number;
  if (n < 1) throw new Error(`expected an integer of at least 1, got "${v}"`);
  return n;
};
const bytes: Parse = (v) => {
  const match = /^(\d+)\s*(B|KiB|MiB|GiB)?$/i.exec(v);
  if (!match) throw new Error(`expected a size like 1048576, 512KiB or 1MiB, got "${v}"`);
  const unit = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 }[(match[2] ?? 'b').toLowerCase()]!;
  return Number(match[1]) * unit;
};
/** "90d" is allowed here (retention); everything else is a Go duration. */
const longDuration: Parse = (v) => {
  const days = /^\d+d$/.test(v) ? Number(v.slice(0, -1)) : null;
  if (days !== null && days > MAX_RETENTION_DAYS)
    throw new Error(`"${v}" is longer than the maximum ${MAX_RETENTION_DAYS}d`);
  return days !== null ? days * 86_400_000 : duration(v);
};
const hostKeyPolicy: Parse = (v) => {
  if (v !== 'strict' && v !== 'tofu') throw new Error(`expected "strict" or "tofu", got "${v}"`);
  return v;
};
const bool: Parse = (v) => {
  if (!['true', 'false', '1', '0', 'yes', 'no'].includes(v))
    throw new Error(`expected true or false, got "${v}"`);
  return ['true', '1', 'yes'].includes(v);
};
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envNames: Parse = (v) => {
  const names = v
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const bad = names.find((n) => !ENV_NAME.test(n));
  if (bad !== undefined) throw new Error(`"${bad}" is not an environment variable name`);
  return names;
};
const listen: Parse = (v) => (v === 'off' || v === '' ? null : v);
const list: Parse = (v) =>
  v
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/** Every `distcron daemon` flag; each is also read from DISTCRON_<FLAG_IN_CAPS>. */
export const DAEMON_FLAGS: FlagSpec[] = [
  { flag: 'jobs-dir', key: 'jobsDir', help: 'directory of job definitions' },
  { flag: 'nodes-dir', key: 'nodesDir', help: 'directory of node definitions' },
  {
    flag: 'resources-dir',
    key: 'resourcesDir',
    help: 'directory of resource pools (default: resources.d beside the jobs directory)',
  },
  {
    flag: 'db',
    key: 'dbPath',
    help: 'SQLite database file, or a postgres://user@host/db URL (prefer DISTCRON_DB or PGPASSWORD for a password)',
  },
  {
    flag: 'db-pool-size',
    key: 'dbPoolSize',
    help: 'PostgreSQL connections in the pool',
    parse: positiveInteger,
  },
  {
    flag: 'max-runs',
    key: 'maxRuns',
    help: 'runs this daemon executes at once, at most (it takes queued work only below it)',
    parse: positiveInteger,
  },
  {
    flag: 'member-id',
    key: 'memberId',
    help: "this daemon's id among several on one PostgreSQL database (default HOSTNAME:PORT of --listen)",
  },
  {
    flag: 'lease-ttl',
    key: 'leaseTtlMs',
    help: 'PostgreSQL: how long the leader lease lasts without renewal (database clock)',
    parse: duration,
  },
  {
    flag: 'lease-renew',
    key: 'leaseRenewMs',
    help: 'PostgreSQL: how often the leader renews its lease and every member heartbeats (< lease-ttl / 2)',
    parse: duration,
  },
  {
    flag: 'shared-config-poll',
    key: 'sharedConfigPollMs',
    help: "PostgreSQL: how often a member reads the configuration the API wrote through other members' APIs",
    parse: duration,
  },
  { flag: 'listen', key: 'listen', help: 'REST API address HOST:PORT ("off" for none)', parse: listen },
  { flag: 'timezone', key: 'timezone', help: 'IANA zone for schedules that name none' },
  {
    flag: 'grace',
    key: 'graceMs',
    help: 'how late a fire may be before it counts as missed',
    parse: duration,
  },
  {
    flag: 'default-timeout',
    key: 'defaultTimeoutMs',
    help: 'timeout for jobs that set none',
    parse: duration,
  },
  {
    flag: 'shutdown-grace',
    key: 'shutdownGraceMs',
    help: 'on SIGTERM, how long runs may finish',
    parse: duration,
  },
  {
    flag: 'output-limit',
    key: 'outputLimitBytes',
    help: 'captured bytes per stream (head and end kept)',
    parse: bytes,
  },
  {
    flag: 'retention',
    key: 'retentionMs',
    help: 'keep finished runs this long (e.g. 90d)',
    parse: longDuration,
  },
  { flag: 'log-level', key: 'logLevel', help: 'trace|debug|info|warn|error|fatal' },
  { flag: 'api-tokens', key: 'apiTokensFile', help: 'JSON file of API tokens (SHA-256 hashes and roles)' },
  { flag: 'api-base-url', key: 'apiBaseUrl', help: 'public URL of the API, used in notifications' },
  {
    flag: 'api-allowed-hosts',
    key: 'apiAllowedHosts',
    help: 'more Host names the API answers to, comma-separated (NAME or NAME:PORT)',
    parse: list,
  },
  {
    flag: 'api-cors-origin',
    key: 'apiCorsOrigins',
    help: 'web origins allowed to call the API from a browser, comma-separated',
    parse: list,
  },
  {
    flag: 'api-insecure-no-auth',
    key: 'apiInsecureNoAuth',
    help: 'allow a non-loopback --listen without --api-tokens (anyone who can connect is admin)',
    parse: bool,
    switch: true,
  },
  {
    flag: 'no-ui',
    key: 'ui',
    help: 'do not serve the web console at /ui/ on the API address',
    parse: (v) => !(bool(v) as boolean),
    switch: true,
  },
  {
    flag: 'metrics-job-labels',
    key: 'metricsJobLabels',
    help: 'label run metrics by job (one series per job: mind the cardinality)',
    parse: bool,
    switch: true,
  },
  { flag: 'known-hosts', key: 'knownHostsFile', help: 'OpenSSH known_hosts file for host-key checks' },
  {
    flag: 'host-key-policy',
    key: 'hostKeyPolicy',
    help: 'strict | tofu (record unknown keys on first use)',
    parse: hostKeyPolicy,
  },
  { flag: 'tofu-known-hosts', key: 'tofuKnownHostsFile', help: 'where tofu records keys' },
  {
    flag: 'ssh-connect-timeout',
    key: 'sshConnectTimeoutMs',
    help: 'SSH connect + handshake timeout',
    parse: duration,
  },
  {
    flag: 'ssh-idle-timeout',
    key: 'sshIdleTimeoutMs',
    help: 'close pooled SSH connections idle this long',
    parse: duration,
  },
  { flag: 'es-url', key: 'esUrl', help: 'Elasticsearch URL (also ELASTICSEARCH_URL)' },
  { flag: 'es-api-key', key: 'esApiKey', help: 'Elasticsearch API key', envOnly: true },
  { flag: 'es-username', key: 'esUsername', help: 'Elasticsearch user' },
  { flag: 'es-password', key: 'esPassword', help: 'Elasticsearch password', envOnly: true },
  { flag: 'es-ca-file', key: 'esCaFile', help: 'CA certificate for Elasticsearch TLS' },
  { flag: 'smtp-url', key: 'smtpUrl', help: 'SMTP server, smtp[s]://[user@]host:port' },
  { flag: 'smtp-user', key: 'smtpUser', help: 'SMTP user (overrides the URL)' },
  { flag: 'smtp-password', key: 'smtpPassword', help: 'SMTP password', envOnly: true },
  {
    flag: 'smtp-require-tls',
    key: 'smtpRequireTls',
    help: 'refuse to send without STARTTLS (true|false)',
    parse: bool,
  },
  {
    flag: 'smtp-tls-insecure',
    key: 'smtpTlsInsecure',
    help: 'accept an unverified SMTP certificate (true|false)',
    parse: bool,
  },
  { flag: 'smtp-ca', key: 'smtpCaFile', help: 'CA certificate file (PEM) for the SMTP server' },
  { flag: 'mail-from', key: 'mailFrom', help: 'sender address of notification mails' },
  { flag: 'admin-email', key: 'adminEmail', help: 'receives daemon-level notices (host key changed)' },
  { flag: 'remind-every', key: 'remindEveryMs', help: 'still_failing reminder interval', parse: duration },
  {
    flag: 'flood-per-hour',
    key: 'floodPerHour',
    help: 'max notification messages per job per hour',
    parse: integer,
  },
  {
    flag: 'env-passthrough',
    key: 'envPassthrough',
    help: 'NAME,... daemon environment variables local jobs also get (default: none beyond PATH, HOME, USER, LOGNAME, SHELL, LANG, TZ)',
    parse: envNames,
  },
];

export function envName(flag: string): string {
  return `DISTCRON_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** defaults < DISTCRON_* env < CLI flag (commander gives the flags as camelCase of the flag name). */
export function resolveDaemonOptions(
  flags: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv,
): Partial<DaemonOptions> {
  const out: Partial<Record<keyof DaemonOptions, unknown>> = {};
  if (env.ELASTICSEARCH_URL) out.esUrl = env.ELASTICSEARCH_URL;
  for (const spec of DAEMON_FLAGS) {
    const raw = flagValue(spec, flags) ?? env[envName(spec.flag)];
    if (raw === undefined) continue;
    try {
      out[spec.key] = spec.parse ? spec.parse(raw) : raw;
    } catch (err) {
      throw new Error(`distcron: --${spec.flag} (${envName(spec.flag)}): ${(err as Error).message}`);
    }
  }
  return out as Partial<DaemonOptions>;
}

function flagValue(spec: FlagSpec, flags: Record<string, string | boolean | undefined>): string | undefined {
  if (spec.envOnly) return undefined;
  // commander gives `--no-x` as x: false, and x: true when the flag is absent.
  if (spec.flag.startsWith('no-')) return flags[camel(spec.flag.slice(3))] === false ? 'true' : undefined;
  const flag = flags[camel(spec.flag)];
  return typeof flag === 'boolean' ? String(flag) : flag;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
