import type { ClusterHealth, ClusterView, Membership } from './cluster.js';
import { readFile, rm } from 'node:fs/promises';
import { basename, resolve, sep } from 'node:path';
import { writeAtomically } from './atomic-write.js';
import type { SharedJobWrites } from './config-sync.js';
import type { Metrics } from '../core/metrics.js';
import { resolveParameters } from '../core/parameters.js';
import {
  isoUtc,
  type ConfigProblem,
  type JobDef,
  type Millis,
  type NodeDef,
  type RunRecord,
} from '../core/types.js';
import { selectCandidates } from '../placement/index.js';
import { InvalidRunQueryError } from '../store/queries.js';
import type { AsyncStore } from '../store/async-store.js';
import type { OutboxSink } from '../store/store.js';
import {
  ControlError,
  type AuditEntry,
  type AuditPage,
  type DaemonControl,
  type JobView,
  type ManualRunRequest,
  type NodeView,
  type PutJobResult,
  type RunListFilter,
  type RunListPage,
} from './control.js';
import type { ConfigView } from './config-view.js';
import type { JobTable } from './job-table.js';
import type { NodeHealthTracker } from './node-health.js';
import type { Runner } from './runner.js';
import { RunOutput } from './run-output.js';
import type { Scheduler } from './scheduler.js';
import type { Schedule } from '../schedule/schedule.js';
import { startAdhoc, type AdhocRequest, type AdhocStarted } from './adhoc.js';
import type { ResourceBroker } from './resource-broker.js';
import type { PoolView } from './resource-view.js';
import type { DependencyRounds } from './dependencies.js';
import { dependencyViewOf, type DependencyView } from './dependency-view.js';

export interface ControlDeps {
  store: AsyncStore;
  metrics: Metrics;
  /** Nodes and config problems. */
  config: ConfigView;
  /** Owner of each job's runtime state: the control only queries it and sends it commands. */
  jobs: JobTable;
  scheduler: Scheduler;
  runner: Runner;
  health: NodeHealthTracker;
  jobsDir: string;
  /** Cancels a run wherever it executes (remote-cancel.ts); false when it is not running. */
  cancel: (runId: string, requestedBy: string | null) => Promise<boolean>;
  /** Config-layer validation of an API body (same messages as `distcron validate`). */
  validateJobBody: (name: string, body: unknown) => { problems: ConfigProblem[]; text: string };
  isValidJobName: (name: string) => boolean;
  /** This member's place in the cluster. */
  membership: Membership;
  /** Resource pools (SPEC §16). */
  resources?: ResourceBroker;
  /** PostgreSQL: shares the API's job writes with the other members (SPEC §15). */
  shared?: SharedJobWrites;
  /** Applies a file change now instead of waiting for the watcher (read-your-writes for the API). */
  reload: (file: string) => Promise<void>;
  /** Dependent jobs' rounds (SPEC §16). */
  rounds: Pick<DependencyRounds, 'childrenOf' | 'explain'>;
}

/** The one programmatic API over a running daemon (REST API, CLI and tests use it). */
export class DaemonControlImpl implements DaemonControl {
  private readonly store: AsyncStore;
  private readonly metrics: Metrics;
  /** Each definition's last list view, with the state it shows (see listView). */
  private readonly listed = new WeakMap<JobDef, { view: JobView; state: ViewState }>();
  /** PUT/DELETE one at a time: each must see the load outcome of its own write. */
  private writes: Promise<unknown> = Promise.resolve();

  readonly output: RunOutput;

  constructor(private readonly deps: ControlDeps) {
    this.store = deps.store;
    this.output = new RunOutput(deps.store, deps.runner.liveOutput);
    this.metrics = deps.metrics;
  }

  resources(): Promise<PoolView[]> {
    return this.deps.resources?.views() ?? Promise.resolve([]);
  }

  async listJobs(names?: readonly string[]): Promise<JobView[]> {
    const views: JobView[] = [];
    if (names === undefined) {
      const jobs = this.deps.jobs.jobs();
      await this.deps.jobs.loadLastRuns(jobs.map((j) => j.name));
      for (const job of this.deps.jobs.jobs()) views.push(this.listView(job));
      return views;
    }
    await this.deps.jobs.loadLastRuns(names);
    for (const name of names) {
      const job = this.deps.jobs.job(name);
      if (job) views.push(this.listView(job));
    }
    return views;
  }

  /**
   * The list view of a job, with one next fire time. The API asks for a page of them on every
   * request and they rarely change: while a job's state stays the same its view is the same
   * frozen object, so the API serializes it once (see jobSummaryText).
   */
  private listView(job: JobDef): JobView {
    const state = this.stateOf(job, 1);
    const last = this.listed.get(job);
    if (last !== undefined && sameState(last.state, state)) return last.view;
    const view = this.viewOf(job, state);
    Object.freeze(view.nextFireTimes);
    this.listed.set(job, { view: Object.freeze(view), state });
    return view;
  }

  /** Definitions only: lets the API filter and page 100k jobs before building any view. */
  jobDefinitions(): readonly JobDef[] {
    return this.deps.jobs.jobs();
  }

  async getJob(name: string): Promise<JobView | undefined> {
    if (!this.deps.jobs.job(name)) return undefined;
    await this.deps.jobs.loadLastRuns([name]);
    // Read after the await: the job may have changed (or gone) meanwhile.
    const job = this.deps.jobs.job(name);
    return job ? { ...this.view(job, 5), children: [...this.deps.rounds.childrenOf(name)] } : undefined;
  }

  async jobDependencies(name: string): Promise<DependencyView | undefined> {
    const job = this.deps.jobs.job(name);
    return job ? dependencyViewOf(job, this.deps.rounds) : undefined;
  }

  /**
   * Writes the job's file (in place when the job already lives in a subdirectory) and answers
   * once the daemon has loaded it: with the job's view, or with the load problems after putting
   * the file back as it was. Writes are serialized so each sees the outcome of its own file.
   */
  async putJob(name: string, body: unknown): Promise<PutJobResult> {
    this.assertName(name);
    const checked = this.deps.validateJobBody(name, body);
    if (checked.problems.some((p) => p.severity === 'error'))
      return { ok: false, problems: checked.problems };
    return this.serialWrite(async () => {
      const created = !this.deps.jobs.job(name);
      const file = this.fileOf(name) ?? resolve(this.deps.jobsDir, `${name}.json`);
      const previous = await readFile(file, 'utf8').catch(() => null);
      await writeAtomically(file, checked.text);
      await this.deps.reload(file);
      const problems = this.loadProblems(file);
      const refused = this.deps.config.applyFailureOf(file);
      if (problems.length === 0 && this.deps.jobs.job(name)?.file === file) {
        await this.share(name, file, checked.text, previous);
        return { ok: true, created, job: (await this.getJob(name)) ?? null };
      }
      if (previous === null) await rm(file, { force: true });
      else await writeAtomically(file, previous);
      await this.deps.reload(file);
      if (refused === undefined && problems.length > 0) return { ok: false, problems };
      // A valid file that did not load: applying it failed (the store refused the job's state).
      throw new ControlError(
        'unavailable',
        `job ${name}: the file is valid but the daemon could not apply it (${refused ?? 'it did not load'}); nothing changed, retry when the database answers`,
      );
    });
  }

  /** Removes the job's file (a loaded job's, or a file of that name that failed to load). */
  async deleteJob(name: string): Promise<boolean> {
    this.assertName(name);
    return this.serialWrite(async () => {
      const file = this.fileOf(name);
      if (!file) return false;
      const previous = await readFile(file, 'utf8').catch(() => null);
      await rm(file, { force: true });
      await this.deps.reload(file);
      if (this.deps.jobs.job(name)?.file === file) {
        const why = this.loadProblems(file)[0]?.message ?? 'see GET /api/v1/config/errors';
        throw new ControlError(
          'unavailable',
          `job ${name}: its file is removed but the daemon could not apply that yet: ${why}`,
        );
      }
      await this.share(name, file, null, previous);
      return true;
    });
  }

  /**
   * Shares a write that is active here with the other members; when the database does not take
   * it, the file is put back as it was (a write no other member will see must not stay here).
   */
  private async share(
    name: string,
    file: string,
    text: string | null,
    previous: string | null,
  ): Promise<void> {
    if (!this.deps.shared) return;
    try {
      await this.deps.shared.publish(name, file, text);
    } catch (err) {
      if (previous === null) await rm(file, { force: true });
      else await writeAtomically(file, previous);
      await this.deps.reload(file);
      const why = err instanceof Error ? err.message : String(err);
      throw new ControlError(
        'unavailable',
        `job ${name}: the change could not be shared with the cluster (${why}); nothing changed, retry when the database answers`,
      );
    }
  }

  private serialWrite<T>(task: () => Promise<T>): Promise<T> {
    const run = this.writes.then(task, task);
    this.writes = run.catch(() => undefined);
    return run;
  }

  /** Where job `name` is defined: its loaded file, else a file of that name that failed to load. */
  private fileOf(name: string): string | undefined {
    const loaded = this.deps.jobs.job(name)?.file;
    if (loaded) return loaded;
    const root = resolve(this.deps.jobsDir) + sep;
    return this.deps.config
      .configProblems()
      .find((p) => p.file.startsWith(root) && basename(p.file) === `${name}.json`)?.file;
  }

  private loadProblems(file: string): ConfigProblem[] {
    return this.deps.config.configProblems().filter((p) => p.file === file && p.severity === 'error');
  }

  async runJob(name: string, request: ManualRunRequest): Promise<{ executionId: string; runIds: string[] }> {
    if (this.deps.runner.isDraining)
      throw new ControlError('unavailable', 'the daemon is shutting down; no new runs are started');
    const job = this.requireJob(name);
    const nodes = this.pinnedNodes(job, request.nodes);
    const parameters = resolveParameters(job.parameters, request.parameters ?? {});
    if (!parameters.ok)
      throw new ControlError('invalid', parameters.message, { parameter: parameters.parameter });
    return this.deps.runner.runManual(job, {
      nodes,
      parameters: parameters.values,
      requestedBy: request.requestedBy ?? null,
    });
  }

  /** The nodes a manual run names, each checked: it exists and the job may run on it. */
  private pinnedNodes(job: JobDef, names: readonly string[] | undefined): NodeDef[] | undefined {
    if (names === undefined) return undefined;
    if (names.length === 0) throw new ControlError('invalid', 'nodes must name at least one node');
    const known = this.deps.config.nodeMap();
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length > 0)
      throw new ControlError('invalid', `no such node: ${unknown.join(', ')}`, { nodes: unknown });
    const candidates = new Map(selectCandidates(job, known).nodes.map((n) => [n.name, n]));
    const outside = names.filter((n) => !candidates.has(n));
    if (outside.length > 0)
      throw new ControlError('invalid', `not a candidate of job ${job.name}: ${outside.join(', ')}`, {
        nodes: outside,
      });
    return [...new Set(names)].map((n) => candidates.get(n)!);
  }

  async runAdhoc(request: AdhocRequest): Promise<AdhocStarted> {
    return startAdhoc({ runner: this.deps.runner, nodes: () => this.deps.config.nodeMap() }, request);
  }

  async setJobEnabled(name: string, enabled: boolean): Promise<void> {
    this.requireJob(name);
    if (this.deps.shared) await this.deps.shared.setEnabled(name, enabled);
    else await this.deps.jobs.setEnabled(name, enabled);
  }

  cancelRun(id: string, requestedBy: string | null = null): Promise<boolean> {
    return this.deps.cancel(id, requestedBy);
  }

  waitForRun(id: string, signal?: AbortSignal): Promise<RunRecord> {
    return this.deps.runner.waitForRun(id, signal);
  }

  /** Runs in flight are the cluster's (every member's runs holding a slot of the node). */
  async listNodes(): Promise<NodeView[]> {
    const loads = await this.store.nodeLoads();
    return [...this.deps.config.nodeMap().values()].map((n) => this.nodeView(n, loads));
  }

  async getNode(name: string): Promise<NodeView | undefined> {
    const node = this.deps.config.nodeMap().get(name);
    return node ? this.nodeView(node, await this.store.nodeLoads()) : undefined;
  }

  configErrors() {
    return this.deps.config.configProblems();
  }

  async listRuns(filter: RunListFilter): Promise<RunListPage> {
    try {
      return await this.store.queryRuns(filter);
    } catch (err) {
      if (err instanceof InvalidRunQueryError)
        throw new ControlError('invalid', err.message.replace(/^store: /, ''));
      throw err;
    }
  }

  getRun(id: string): Promise<RunRecord | undefined> {
    return this.store.getRun(id);
  }

  /** Gauges that show current state are refreshed at scrape time, so a scrape matches the API. */
  cluster(): Promise<ClusterView> {
    return this.deps.membership.view();
  }

  clusterHealth(): ClusterHealth {
    return this.deps.membership.health();
  }

  async metricsText(): Promise<{ contentType: string; text: string }> {
    const { metrics } = this;
    const nodes = await this.listNodes();
    const down = nodes.filter((n) => !n.health.up).length;
    metrics.nodesUp.set(nodes.length - down);
    metrics.nodesDown.set(down);
    const failing = new Set(
      this.configErrors()
        .filter((p) => p.severity === 'error')
        .map((p) => p.file),
    );
    metrics.configErrors.set(failing.size);
    for (const [sink, count] of Object.entries(await this.store.outboxBacklog()))
      metrics.outboxBacklog.set({ sink: sink as OutboxSink }, count);
    return { contentType: metrics.registry.contentType, text: await metrics.registry.metrics() };
  }

  recordAudit(entry: AuditEntry): Promise<void> {
    return this.store.insertAudit(entry);
  }

  async listAudit(query: { limit: number; before?: number }): Promise<AuditPage> {
    const rows = await this.store.listAudit(query.limit + 1, query.before);
    const entries = rows.slice(0, query.limit);
    return { entries, nextBefore: rows.length > query.limit ? entries[entries.length - 1]!.id : null };
  }

  private view(job: JobDef, nextCount: number): JobView {
    return this.viewOf(job, this.stateOf(job, nextCount));
  }

  private stateOf(job: JobDef, nextCount: number): ViewState {
    const { jobs } = this.deps;
    return {
      override: jobs.override(job.name),
      schedule: describeSchedule(jobs.scheduled(job.name)?.schedule),
      // A disabled job will not fire: listing instants would promise runs that never come.
      nextAt: jobs.isEnabled(job) ? this.deps.scheduler.nextFireTimes(job.name, nextCount) : [],
      lastRun: jobs.lastRun(job.name),
      running: jobs.running(job.name),
    };
  }

  private viewOf(job: JobDef, state: ViewState): JobView {
    return {
      name: job.name,
      file: job.file,
      definition: job,
      enabled: state.override ?? job.enabled,
      enabledOverride: state.override,
      schedule: state.schedule,
      nextFireTimes: state.nextAt.map(isoUtc),
      lastRun: state.lastRun,
      running: state.running,
    };
  }

  private nodeView(node: NodeDef, loads: Readonly<Record<string, number>>): NodeView {
    const c = node.connection;
    return {
      name: node.name,
      file: node.file,
      roles: node.roles,
      labels: node.labels,
      connectionType: c.type,
      address: c.type === 'ssh' ? `${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port}` : null,
      user: c.type === 'ssh' ? c.user : null,
      disabled: node.disabled,
      description: node.description,
      maxConcurrentRuns: node.maxConcurrentRuns,
      runsInFlight: loads[node.name] ?? 0,
      health: this.deps.health.view(node.name),
      definition: node,
    };
  }

  private requireJob(name: string): JobDef {
    const job = this.deps.jobs.job(name);
    if (!job) throw new ControlError('not_found', `job ${name} does not exist`);
    return job;
  }

  private assertName(name: string): void {
    if (!this.deps.isValidJobName(name))
      throw new ControlError('invalid', `invalid job name ${JSON.stringify(name)}`);
  }
}

/** What a job view shows besides its definition. */
interface ViewState {
  override: boolean | null;
  schedule: string;
  nextAt: readonly Millis[];
  lastRun: RunRecord | null;
  running: number;
}

function sameState(a: ViewState, b: ViewState): boolean {
  return (
    a.override === b.override &&
    a.schedule === b.schedule &&
    a.lastRun === b.lastRun &&
    a.running === b.running &&
    a.nextAt.length === b.nextAt.length &&
    a.nextAt.every((at, i) => at === b.nextAt[i])
  );
}

/** Descriptions are built once per compiled schedule: job lists show one per job on every page. */
const descriptions = new WeakMap<Schedule, string>();

function describeSchedule(schedule: Schedule | undefined): string {
  if (!schedule) return 'manual';
  let text = descriptions.get(schedule);
  if (text === undefined) descriptions.set(schedule, (text = schedule.describe()));
  return text;
}
