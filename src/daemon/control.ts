import type { Metrics } from '../core/metrics.js';
import type { ConfigProblem, JobDef, NodeDef, RunRecord } from '../core/types.js';
import type { Store } from '../store/store.js';

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
  /** Run on exactly these nodes (each must be a candidate of the job); default: the job's policy. */
  nodes?: string[];
  /** Values for the job's declared parameters; checked by the daemon, defaults fill in. */
  parameters?: Record<string, unknown>;
  /** The API token name that asked (null/undefined without tokens); recorded on the runs. */
  requestedBy?: string | null;
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
  readonly store: Store;
  readonly metrics: Metrics;
  /** Views of every job, or of only the named ones (unknown names are left out). */
  listJobs(names?: readonly string[]): JobView[];
  /**
   * Optional fast path for paging the jobs list: the loaded definitions, from memory, with no
   * per-job state or schedule math. The API filters and pages over these, then asks
   * `listJobs(pageNames)` for one page of views instead of building a view of every job.
   * The same array may be returned again while nothing changed (the API then reuses its sorted
   * index at once); a change must come as a new array, never by changing a returned one.
   */
  jobDefinitions?(): readonly JobDef[];
  getJob(name: string): JobView | undefined;
  /** Validates `body` as a job file, then writes `jobs.d/<name>.json` atomically. */
  putJob(name: string, body: unknown): Promise<PutJobResult>;
  /** Removes the job's file; false when there is no such job file. */
  deleteJob(name: string): Promise<boolean>;
  /** Starts a manual run now; throws ControlError not_found / invalid. */
  runJob(name: string, request: ManualRunRequest): Promise<{ executionId: string; runIds: string[] }>;
  /** Persisted override; throws ControlError not_found. */
  setJobEnabled(name: string, enabled: boolean): void;
  /** false when the run is not running. */
  cancelRun(id: string): boolean;
  listNodes(): NodeView[];
  getNode(name: string): NodeView | undefined;
  configErrors(): ConfigProblem[];
  /** Resolves once the run is final (for `distcron run`). */
  waitForRun(id: string, signal?: AbortSignal): Promise<RunRecord>;
}
