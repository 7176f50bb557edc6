import { dirname, join, resolve } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';

/** Every daemon setting. The CLI maps flags and DISTCRON_* env vars onto this; defaults live below. */
export interface DaemonOptions {
  jobsDir: string;
  nodesDir: string;
  /** `--resources-dir` (SPEC §16); default: `resources.d` beside the jobs directory (see resourcesDirOf). */
  resourcesDir?: string;
  /**
   * `--db`: the path of a SQLite file (SPEC §8), or a postgres:// / postgresql:// URL selecting
   * PostgreSQL (SPEC §15). Never log it as is: a URL may carry a password (see redactUrl).
   */
  dbPath: string;
  /** PostgreSQL only: connections in the store's pool. */
  dbPoolSize: number;
  /**
   * `--member-id`: this daemon's name in the cluster (SPEC §15) and in every run it executes;
   * default HOSTNAME:PORT of `--listen` (else HOSTNAME:PID). See memberIdOf.
   */
  memberId?: string;
  /** `--lease-ttl`: how long the leader lease lasts unrenewed (PostgreSQL; database clock). */
  leaseTtlMs: number;
  /** `--lease-renew`: how often the leader renews it and every member heartbeats (< TTL / 2). */
  leaseRenewMs: number;
  /** PostgreSQL: how often a member reads the shared configuration's version (API writes of other members). */
  sharedConfigPollMs: number;
  /**
   * `--max-runs`: runs this member executes at once, at most; it takes queued executions (whole)
   * only while it runs fewer (SPEC §15).
   */
  maxRuns: number;
  /** How often a member looks at the run queue, node slots and remote runs when nothing woke it. */
  queuePollMs: number;
  /** "HOST:PORT" for the REST API; null = no API. */
  listen: string | null;
  /** IANA zone for schedules that name none. */
  timezone: string;
  /** A fire more than this late counts as missed / catch-up. */
  graceMs: number;
  /** Longest single scheduler wait before re-reading the clock. */
  maxWaitMs: number;
  /** Timeout for jobs that set none; undefined = none. */
  defaultTimeoutMs?: number;
  /** SIGTERM: how long running runs may finish before they are cancelled. */
  shutdownGraceMs: number;
  /** Per stream (stdout, stderr). */
  outputLimitBytes: number;
  retentionMs: number;
  logLevel: string;
  apiTokensFile?: string;
  /** Base URL put in notifications (defaults to http://<listen>); its origin may also write. */
  apiBaseUrl?: string;
  /** Host names (NAME or NAME:PORT) the API answers to besides the listen address and loopback. */
  apiAllowedHosts: string[];
  /** Browser origins allowed to call the API (CORS) and to write through it. */
  apiCorsOrigins: string[];
  /** Allows a non-loopback listen address without tokens (loudly). */
  apiInsecureNoAuth: boolean;
  /** Serve the web console at /ui/ on the API's address (--no-ui turns it off). */
  ui: boolean;
  /** Per-job labels on the run metrics (unbounded series: off by default). */
  metricsJobLabels: boolean;
  knownHostsFile?: string;
  hostKeyPolicy: 'strict' | 'tofu';
  /** Where tofu records first-seen keys (default: <dir of db>/known_hosts). */
  tofuKnownHostsFile?: string;
  sshConnectTimeoutMs: number;
  sshIdleTimeoutMs: number;
  nodeProbeInitialMs: number;
  nodeProbeMaxMs: number;
  esUrl?: string;
  esApiKey?: string;
  esUsername?: string;
  esPassword?: string;
  esCaFile?: string;
  smtpUrl?: string;
  smtpUser?: string;
  /** Prefer DISTCRON_SMTP_PASSWORD over a password in --smtp-url (process listings show flags). */
  smtpPassword?: string;
  /** smtp:// only: refuse to send unless the server upgrades with STARTTLS. */
  smtpRequireTls?: boolean;
  /** Accept an SMTP server certificate that does not verify. */
  smtpTlsInsecure?: boolean;
  smtpCaFile?: string;
  mailFrom: string;
  adminEmail?: string;
  remindEveryMs: number;
  floodPerHour: number;
  /** Config watcher debounce. */
  reloadDebounceMs: number;
  /** Daemon environment variables local runs get besides the fixed base set (PATH, HOME, ...). */
  envPassthrough: string[];
}

/** Programmatic-only knobs (tests, embedding). */
export interface DaemonRuntime {
  clock?: Clock;
  logger?: Logger;
  random?: () => number;
}

export const DAEMON_DEFAULTS: DaemonOptions = {
  jobsDir: '/etc/distcron/jobs.d',
  nodesDir: '/etc/distcron/nodes.d',
  dbPath: './data/distcron.db',
  dbPoolSize: 10,
  leaseTtlMs: 8_000,
  leaseRenewMs: 2_000,
  sharedConfigPollMs: 500,
  maxRuns: 256,
  queuePollMs: 1_000,
  listen: '127.0.0.1:8080',
  timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
  graceMs: 60_000,
  maxWaitMs: 30_000,
  shutdownGraceMs: 30_000,
  outputLimitBytes: 1024 * 1024,
  retentionMs: 90 * 24 * 3_600_000,
  logLevel: 'info',
  apiAllowedHosts: [],
  apiCorsOrigins: [],
  apiInsecureNoAuth: false,
  ui: true,
  metricsJobLabels: false,
  hostKeyPolicy: 'strict',
  sshConnectTimeoutMs: 10_000,
  sshIdleTimeoutMs: 300_000,
  nodeProbeInitialMs: 5_000,
  nodeProbeMaxMs: 300_000,
  mailFrom: 'distcron@localhost',
  remindEveryMs: 24 * 3_600_000,
  floodPerHour: 20,
  reloadDebounceMs: 100,
  envPassthrough: [],
};

export function withDefaults(options: Partial<DaemonOptions>): DaemonOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return { ...DAEMON_DEFAULTS, ...defined };
}

export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  if (!match) throw new Error(`daemon: --listen must be HOST:PORT (e.g. 127.0.0.1:8080), got "${listen}"`);
  const port = Number(match[3]);
  if (port > 65535) throw new Error(`daemon: --listen port ${port} is out of range`);
  return { host: match[1] ?? match[2]!, port };
}

/** resources.d: as given, else the sibling of the jobs directory. */
export function resourcesDirOf(options: Pick<DaemonOptions, 'jobsDir' | 'resourcesDir'>): string {
  return options.resourcesDir ?? join(dirname(resolve(options.jobsDir)), 'resources.d');
}

/** The member id: `--member-id`, else HOSTNAME:PORT of the listen address, else HOSTNAME:PID. */
export function memberIdOf(options: DaemonOptions, host: string, pid: number): string {
  if (options.memberId !== undefined && options.memberId !== '') return options.memberId;
  if (options.listen) return `${host}:${parseListen(options.listen).port}`;
  return `${host}:${pid}`;
}

/** Rejects lease settings under which a leader could not renew in time. */
export function checkLeaseSettings(options: DaemonOptions): void {
  const { leaseTtlMs: ttl, leaseRenewMs: renew } = options;
  if (!(renew > 0) || !(ttl > 0))
    throw new Error('daemon: --lease-ttl and --lease-renew must be positive durations');
  if (renew * 2 >= ttl)
    throw new Error(
      `daemon: --lease-renew (${renew} ms) must be less than half of --lease-ttl (${ttl} ms), so a leader renews at least twice before its lease can expire`,
    );
}
