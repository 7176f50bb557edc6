import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metrics } from '../../../src/core/metrics.js';
import { newId } from '../../../src/core/ids.js';
import {
  isoUtc,
  type ConfigProblem,
  type JobDef,
  type NodeDef,
  type RunRecord,
} from '../../../src/core/types.js';
import {
  ControlError,
  type DaemonControl,
  type JobView,
  type ManualRunRequest,
  type NodeView,
  type PutJobResult,
} from '../../../src/daemon/control.js';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite.js';

/** A valid manual job definition with overrides. */
export function testJob(name: string, overrides: Partial<JobDef> = {}): JobDef {
  return {
    name,
    file: `/jobs.d/${name}.json`,
    owners: [{ name: 'Ops', email: 'ops@example.com' }],
    policy: { select: 'any', roles: ['web'], rolesMatch: 'any', labels: {}, placement: 'least_loaded' },
    schedule: { kind: 'manual' },
    command: { kind: 'argv', argv: ['true'] },
    environment: {},
    parameters: {},
    retries: { count: 0, delayMs: 0 },
    overlap: 'skip',
    catchUp: 'latest',
    notify: { on: ['failure'], email: [], webhooks: [] },
    tags: [],
    enabled: true,
    ...overrides,
  };
}

export function testNode(name: string, up = true): NodeDef & { up: boolean } {
  return {
    name,
    file: `/nodes.d/${name}.json`,
    roles: ['web'],
    labels: {},
    connection: { type: 'local' },
    maxConcurrentRuns: 8,
    disabled: false,
    up,
  };
}

export function testRun(job: string, overrides: Partial<RunRecord> = {}): RunRecord {
  const id = newId();
  return {
    id,
    execution_id: id,
    job,
    node: 'web1',
    host: 'localhost',
    trigger: 'manual',
    attempt: 1,
    scheduled_at: null,
    started_at: isoUtc(Date.now()),
    finished_at: isoUtc(Date.now() + 5),
    duration_ms: 5,
    status: 'succeeded',
    exit_code: 0,
    signal: null,
    stdout: 'hello\n',
    stderr: '',
    output_truncated: false,
    error: null,
    ...overrides,
  };
}

/**
 * A stand-in for the daemon, for unit tests of the HTTP layer only: jobs and nodes live in
 * maps, but runs go to a real SQLite store file. Integration tests use the real daemon.
 */
export class TestControl implements DaemonControl {
  readonly dir = mkdtempSync(join(tmpdir(), 'distcron-api-'));
  readonly store: SqliteStore = openSqliteStore({ path: join(this.dir, 'distcron.db') });
  readonly metrics = new Metrics();
  readonly jobs = new Map<string, JobDef>();
  readonly nodes = new Map<string, NodeDef & { up: boolean }>();
  problems: ConfigProblem[] = [];
  private readonly running = new Set<string>();

  /** How many job views were built (the jobs list should build one page's worth). */
  viewsBuilt = 0;

  listJobs(names?: readonly string[]): JobView[] {
    const jobs = names ? names.flatMap((n) => this.jobs.get(n) ?? []) : [...this.jobs.values()];
    return jobs.map((j) => this.view(j));
  }

  /** The daemon's fast path; set to undefined to test the API without it. */
  jobDefinitions?: () => readonly JobDef[] = () => [...this.jobs.values()];

  getJob(name: string): JobView | undefined {
    const job = this.jobs.get(name);
    return job ? this.view(job) : undefined;
  }

  private view(job: JobDef): JobView {
    this.viewsBuilt++;
    const override = this.store.getJobState(job.name)?.enabledOverride ?? null;
    const lastId = this.store.getJobState(job.name)?.lastRunId;
    const lastRun = lastId ? (this.store.getRun(lastId) ?? null) : null;
    return {
      name: job.name,
      file: job.file,
      definition: job,
      enabled: override ?? job.enabled,
      enabledOverride: override,
      schedule: job.schedule.kind === 'manual' ? '@manual' : 'cron',
      nextFireTimes: [],
      lastRun,
      running: [...this.running].filter((id) => this.store.getRun(id)?.job === job.name).length,
    };
  }

  async putJob(name: string, body: unknown): Promise<PutJobResult> {
    const argv = (body as { command?: unknown }).command;
    if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string'))
      return {
        ok: false,
        problems: [
          {
            file: `/jobs.d/${name}.json`,
            line: 1,
            column: 1,
            path: '$',
            message: 'command is required',
            severity: 'error',
          },
        ],
      };
    const created = !this.jobs.has(name);
    this.jobs.set(name, testJob(name, { command: { kind: 'argv', argv: argv as string[] } }));
    return { ok: true, created, job: this.getJob(name) ?? null };
  }

  async deleteJob(name: string): Promise<boolean> {
    return this.jobs.delete(name);
  }

  async runJob(name: string, request: ManualRunRequest): Promise<{ executionId: string; runIds: string[] }> {
    if (!this.jobs.has(name)) throw new ControlError('not_found', `job ${name} does not exist`);
    const node = request.nodes?.[0];
    if (node !== undefined && !this.nodes.has(node))
      throw new ControlError('not_found', `node ${node} does not exist`);
    const run = testRun(name, {
      node: node ?? 'web1',
      status: 'running',
      finished_at: null,
      duration_ms: null,
      exit_code: null,
      stdout: '',
    });
    this.store.insertRun(run);
    this.running.add(run.id);
    return { executionId: run.execution_id, runIds: [run.id] };
  }

  /** Finishes a running run the way the runner would. */
  finish(id: string, fields: Partial<RunRecord>): void {
    const run = this.store.getRun(id);
    if (!run) throw new Error(`no run ${id}`);
    this.running.delete(id);
    this.store.finishRun({ ...run, finished_at: isoUtc(Date.now()), duration_ms: 1, ...fields }, []);
  }

  setJobEnabled(name: string, enabled: boolean): void {
    if (!this.jobs.has(name)) throw new ControlError('not_found', `job ${name} does not exist`);
    this.store.setEnabledOverride(name, enabled);
  }

  cancelRun(id: string): boolean {
    if (!this.running.has(id)) return false;
    this.finish(id, { status: 'cancelled', signal: 'SIGTERM' });
    return true;
  }

  listNodes(): NodeView[] {
    return [...this.nodes.values()].map((n) => this.nodeView(n));
  }

  getNode(name: string): NodeView | undefined {
    const node = this.nodes.get(name);
    return node ? this.nodeView(node) : undefined;
  }

  private nodeView(node: NodeDef & { up: boolean }): NodeView {
    return {
      name: node.name,
      file: node.file,
      roles: node.roles,
      labels: node.labels,
      connectionType: 'local',
      address: null,
      user: null,
      disabled: node.disabled,
      maxConcurrentRuns: node.maxConcurrentRuns,
      runsInFlight: this.running.size,
      health: {
        up: node.up,
        lastError: node.up ? null : 'ssh: connect ECONNREFUSED',
        lastCheckedAt: isoUtc(Date.now()),
        nextProbeAt: null,
      },
      definition: node,
    };
  }

  configErrors(): ConfigProblem[] {
    return this.problems;
  }

  async waitForRun(id: string): Promise<RunRecord> {
    for (;;) {
      const run = this.store.getRun(id);
      if (run && run.status !== 'running') return run;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
