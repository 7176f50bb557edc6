import type { ClusterHealth, ClusterView } from './cluster.js';
import type { RunOutput } from './run-output.js';
import type { ConfigProblem, JobDef, NodeDef, RunRecord, RunStatus, Trigger } from '../core/types.js';
import type { AdhocRequest, AdhocStarted } from './adhoc.js';
import type { PoolView } from './resource-view.js';
import type { DependencyView } from './dependency-view.js';

/** What the API, the CLI and tests see of a job. */
export interface JobView {
  name: string;
  file: string;
  definition: JobDef;
  /** Effective enabled state (file's `enabled` unless the API overrode it). */
  enabled: boolean;
  enabledOverride: boolean | null;
  schedule: string;
  /** Next fire instants, ISO-8601 UTC (empty for manual jobs). */
  nextFireTimes: string[];
  lastRun: RunRecord | null;
  running: number;
  /** The jobs that run after this one (SPEC §16); given by getJob only. */
  children?: string[];
}

export interface NodeHealth {
  up: boolean;
  lastError: string | null;
  lastCheckedAt: string | null;
  /** When the next probe of a down node is due. */
  nextProbeAt: string | null;
}

export interface NodeView {
  name: string;
  file: string;
  roles: string[];
  labels: Record<string, string>;
  connectionType: 'local' | 'ssh';
  /** host:port for ssh nodes; no credentials, ever. */
  address: string | null;
  user: string | null;
  disabled: boolean;
  description?: string;
  maxConcurrentRuns: number;
  runsInFlight: number;
  health: NodeHealth;
  definition: NodeDef;
}

export type PutJobResult =
  { ok: true; created: boolean; job: JobView | null } | { ok: false; problems: ConfigProblem[] };

export interface ManualRunRequest {
  /** Run on exactly these nodes; default: the job's policy. */
  nodes?: string[];
  /** Values for the job's declared parameters; undeclared or invalid ones are refused. */
  parameters?: Record<string, unknown>;
  /** The API token's name (null without tokens), recorded on the runs. */
  requestedBy?: string | null;
}

/** Which runs to list, newest first, one page at a time. */
export interface RunListFilter {
  job?: string;
  node?: string;
  status?: RunStatus;
  trigger?: Trigger;
  /** ISO-8601; compares against started_at, falling back to scheduled_at. */
  since?: string;
  until?: string;
  /** Opaque cursor of a previous page. */
  cursor?: string;
  limit: number;
  /** With stdout/stderr (they can be large); default without (empty strings). */
  withOutput?: boolean;
}

export interface RunListPage {
  runs: RunRecord[];
  nextCursor: string | null;
}

/** One API write, as the audit log keeps it. */
export interface AuditEntry {
  /** ISO-8601 UTC. */
  at: string;
  /** The token's name; null when the API runs without tokens. */
  token: string | null;
  /** e.g. "job.put", "job.run", "run.cancel". */
  action: string;
  /** The job name or run id acted on. */
  target: string;
  /** The client's address. */
  address: string | null;
  /** The HTTP status of the answer. */
  status: number;
}

export interface AuditRecord extends AuditEntry {
  id: number;
}

export interface AuditPage {
  entries: AuditRecord[];
  /** Id of the last entry when another page follows (entries are newest first). */
  nextBefore: number | null;
}

export class ControlError extends Error {
  constructor(
    readonly code: 'not_found' | 'conflict' | 'invalid' | 'unavailable',
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/**
 * The one programmatic API of a running daemon. The REST API and the CLI are thin layers over it.
 */
export interface DaemonControl {
  /** Runs' live and stored output (SPEC §17); absent in control fakes without it. */
  readonly output?: RunOutput;
  /** Views of every job, or of only the named ones (unknown names are left out). */
  listJobs(names?: readonly string[]): Promise<JobView[]>;
  /**
   * The loaded definitions, with no per-job state or schedule math: the API filters and pages
   * over these, then asks `listJobs(pageNames)` for one page of views.
   */
  jobDefinitions(): readonly JobDef[];
  getJob(name: string): Promise<JobView | undefined>;
  /** A job's parents, children and what its next round waits for (SPEC §16); undefined: no such job. */
  jobDependencies(name: string): Promise<DependencyView | undefined>;
  /** Validates `body` as a job file, then writes `jobs.d/<name>.json` atomically. */
  putJob(name: string, body: unknown): Promise<PutJobResult>;
  /** Removes the job's file; false when there is no such job file. */
  deleteJob(name: string): Promise<boolean>;
  /** Starts a manual run now; throws ControlError not_found / invalid. */
  runJob(name: string, request: ManualRunRequest): Promise<{ executionId: string; runIds: string[] }>;
  /** Ad-hoc command (src/daemon/adhoc.ts); throws ControlError invalid / unavailable. */
  runAdhoc(request: AdhocRequest): Promise<AdhocStarted>;
  /** Persisted override; throws ControlError not_found. */
  setJobEnabled(name: string, enabled: boolean): Promise<void>;
  /**
   * Cancels the run wherever it executes (on another member: through a request in the store);
   * resolves false when the run is not running. `requestedBy`: the API token's name.
   */
  cancelRun(id: string, requestedBy?: string | null): Promise<boolean>;
  /** Each node's runs in flight are the cluster's, read from the store. */
  listNodes(): Promise<NodeView[]>;
  getNode(name: string): Promise<NodeView | undefined>;
  configErrors(): ConfigProblem[];
  /** Resource pools with holders and waiters, cluster-wide (SPEC §16); absent: no pools. */
  resources?(): Promise<PoolView[]>;
  /** Resolves once the run is final (for `distcron run`). */
  waitForRun(id: string, signal?: AbortSignal): Promise<RunRecord>;
  /** Newest first; rejects with ControlError invalid for a cursor or time it cannot read. */
  listRuns(filter: RunListFilter): Promise<RunListPage>;
  /** The run with its output. */
  getRun(id: string): Promise<RunRecord | undefined>;
  /** Members, leader and epoch (SPEC §15); SQLite: this daemon alone. */
  cluster(): Promise<ClusterView>;
  /** This member's role and a lease problem, for /healthz. */
  clusterHealth(): ClusterHealth;
  /** The Prometheus exposition, gauges of current state refreshed first. */
  metricsText(): Promise<{ contentType: string; text: string }>;
  /** Stores one API write in the audit log. */
  recordAudit(entry: AuditEntry): Promise<void>;
  /** Newest first; `before` is the `nextBefore` of a previous page. */
  listAudit(query: { limit: number; before?: number }): Promise<AuditPage>;
}
