/**
 * Typed values shared by every component. Config files are parsed once, at the boundary
 * (src/config), into these; nothing downstream looks at raw JSON again.
 */

/** Milliseconds since the Unix epoch, UTC. */
export type Millis = number;

export type NotifyEvent = 'failure' | 'recovery' | 'missed' | 'still_failing' | 'success';

export const NOTIFY_EVENTS: readonly NotifyEvent[] = [
  'failure',
  'recovery',
  'missed',
  'still_failing',
  'success',
];

export interface SshConnection {
  type: 'ssh';
  host: string;
  port: number;
  user: string;
  privateKeyFile?: string;
  /** Name of the env var holding the key's passphrase (never the passphrase itself). */
  passphraseEnv?: string;
  agent: boolean;
  /** Pinned public key line, e.g. "ssh-ed25519 AAAA...". */
  hostKey?: string;
  /** Name of another ssh node used as bastion (ProxyJump). */
  jump?: string;
}

export interface LocalConnection {
  type: 'local';
}

export interface NodeDef {
  name: string;
  /** Absolute path of the file it came from. */
  file: string;
  roles: string[];
  labels: Record<string, string>;
  connection: LocalConnection | SshConnection;
  maxConcurrentRuns: number;
  disabled: boolean;
  description?: string;
}

/**
 * What a run executes, parsed once from `command`, `shell_command`, `script` or
 * `script_inline` (SPEC §4, §17). `runAs` (`run_as`) applies to every kind: the host runs it
 * through `sudo -n -u USER --`.
 */
export type CommandSpec = (
  { kind: 'argv'; argv: string[] } | { kind: 'shell'; script: string } | ({ kind: 'script' } & ScriptSpec)
) & { runAs?: string };

/** A script pushed to the host for each run (`script` / `script_inline`). */
export interface ScriptSpec {
  /** The path as written in the job file (relative to its directory), or "inline". */
  source: string;
  /** The script's bytes, read when the config was loaded (at most 1 MiB). */
  content: Buffer;
  /** Hex sha256 of `content`; recorded on every run as `script_sha256`. */
  sha256: string;
  /** Program and its fixed options: `interpreter`, else the shebang line, else `/bin/sh`. */
  interpreter: string[];
  /** Arguments after the script (`args`). */
  args: string[];
  /**
   * `stdin`: fed on the session's stdin (`sh -s -- args`, `python3 - args`), nothing written on
   * the host. `upload`: written into a fresh 0700 directory under the user's home, removed after.
   */
  delivery: 'stdin' | 'upload';
}

export type FuzzyPeriod = 'hourly' | 'daily' | 'weekly' | { everyMs: number };

export type ScheduleSpec =
  | { kind: 'manual' }
  /** 5 fields (minute first), 6 fields (seconds first), descriptors, and H tokens. */
  | { kind: 'cron'; expression: string; timezone?: string }
  /** `@every <duration>`: instants k·interval after the Unix epoch (stable across restarts). */
  | { kind: 'every'; intervalMs: number }
  /** reference + k·interval for every integer k; reference is a local wall time "HH:MM[:SS]". */
  | { kind: 'interval'; intervalMs: number; reference: string; timezone?: string }
  /** Window is local wall time "HH:MM-HH:MM" (may wrap midnight). */
  | { kind: 'fuzzy'; period: FuzzyPeriod; window?: { start: string; end: string }; timezone?: string }
  | { kind: 'at'; at: Millis };

export interface WebhookDef {
  url: string;
  on?: NotifyEvent[];
  secret?: string;
  secretEnv?: string;
  format: 'json' | 'slack';
}

export interface JobPolicy {
  select: 'any' | 'all';
  hosts?: string[];
  roles?: string[];
  rolesMatch: 'any' | 'all';
  labels: Record<string, string>;
  placement: 'least_loaded' | 'round_robin' | 'random';
  /** For `all`: how many nodes run at once; undefined = all at once. */
  maxParallel?: number;
}

/**
 * One declared job parameter. A value must pass every rule given; `default` fills in when a run
 * gives none (scheduled runs always use the defaults).
 */
export interface ParameterSpec {
  type: 'string';
  enum?: string[];
  /** Source of a regular expression the whole value must match (anchoring is the author's). */
  pattern?: string;
  maxLength?: number;
  default?: string;
  required: boolean;
  description?: string;
}

/** One parent of a dependent job (`after`, SPEC §16). */
export interface Dependency {
  /** The parent job's name. */
  job: string;
  /** Which kind of parent completion counts. */
  on: 'success' | 'failure' | 'done';
  /** For a parent that runs on every host: `all` its host runs must succeed, or `any` one. */
  hosts: 'all' | 'any';
}

/** A job's `after` and `window`: it fires once per round, when every parent has completed. */
export interface DependencySpec {
  parents: readonly Dependency[];
  /** A parent completion older than this no longer counts (default 24h). */
  windowMs: number;
}

export interface JobDef {
  name: string;
  file: string;
  description?: string;
  owners: { name?: string; email: string }[];
  policy: JobPolicy;
  schedule: ScheduleSpec;
  command: CommandSpec;
  environment: Record<string, string>;
  /** Declared run parameters by name (SPEC §11); they reach the command as environment variables. */
  parameters: Record<string, ParameterSpec>;
  workingDirectory?: string;
  timeoutMs?: number;
  retries: { count: number; delayMs: number };
  overlap: 'skip' | 'queue' | 'allow';
  catchUp: 'skip' | 'latest' | 'all';
  /**
   * `rerun_lost`: a run recorded `lost` (its member died) gets one new attempt, queued again
   * (SPEC §15). Off by default: the lost command may still be running on its host.
   */
  rerunLost?: boolean;
  notify: { on: NotifyEvent[]; email: string[]; webhooks: WebhookDef[]; remindEveryMs?: number };
  tags: string[];
  enabled: boolean;
  /** Shared resource pools a run holds while its command runs (SPEC §16); absent: none. */
  resources?: ResourceClaim[];
  /** How long a run waits for its resources before it is recorded `skipped`; absent: the timeout, else 1h. */
  resourceWaitMs?: number;
  /** Absent: the job depends on no other job. */
  after?: DependencySpec;
}

/**
 * What a job takes from one pool: `pool` names a `resources.d/<pool>.json`; `perNode` (the
 * `"<pool>@{node}"` spelling) makes it one pool per host, `<pool>@<node>`, each of that size.
 */
export interface ResourceClaim {
  pool: string;
  perNode: boolean;
  amount: number;
}

/** One `resources.d/<name>.json`: at least one of the two limits. */
export interface ResourcePoolDef {
  name: string;
  file: string;
  description?: string;
  /** At most this many units held at once. */
  capacity?: number;
  /** At most this many units acquired in any rolling 60 s. */
  perMinute?: number;
}

export interface ConfigProblem {
  /** Path of the file, as given to the loader. */
  file: string;
  line: number;
  column: number;
  /** JSON path like `$.policy.hosts[0]`; `$` for the whole document. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export type RunStatus =
  'running' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'error' | 'lost' | 'skipped' | 'missed';

export const FINAL_STATUSES: readonly RunStatus[] = [
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'error',
  'lost',
  'skipped',
  'missed',
];

/** Every status, in the order the SPEC lists them (config, API filters and the OpenAPI enum use this one list). */
export const RUN_STATUSES: readonly RunStatus[] = ['running', ...FINAL_STATUSES];

/** `adhoc`: a one-off command through `POST /api/v1/exec` / `distcron exec` (SPEC §17). */
export type Trigger = 'schedule' | 'catch_up' | 'manual' | 'retry' | 'dependency' | 'adhoc';

export const TRIGGERS: readonly Trigger[] = [
  'schedule',
  'catch_up',
  'manual',
  'retry',
  'dependency',
  'adhoc',
];

/** One row of the SQLite `runs` table, column for column (SPEC §8). Times are ISO-8601 UTC with ms. */
export interface RunRecord {
  id: string;
  execution_id: string;
  job: string;
  node: string | null;
  host: string | null;
  trigger: Trigger;
  attempt: number;
  scheduled_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  status: RunStatus;
  exit_code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  output_truncated: boolean;
  error: string | null;
  /**
   * Trailing columns added after the first release (SPEC §8). Optional in the type so a run
   * built before them still type-checks; the store always reads them back (null when unset).
   */
  /** A manual run's parameter values (defaults filled in); JSON text in SQLite. */
  parameters?: Record<string, string> | null;
  /** The API token name that asked for a manual run. */
  requestedBy?: string | null;
  /** Ids of the runs whose finish triggered a dependency fire; JSON text in SQLite. */
  parentRuns?: string[] | null;
  scriptSha256?: string | null;
  /** The daemon (its --member-id) that executed the run. */
  member?: string | null;
}

export { isoUtc } from './iso-time.js';
