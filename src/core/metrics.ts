import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsOptions {
  /** Node.js process metrics (default true). */
  defaultMetrics?: boolean;
  /**
   * A `job` label on the run counter and duration histogram (default false): one series per
   * job (a dozen per histogram), which at 100,000 jobs is more than a Prometheus should hold.
   */
  jobLabels?: boolean;
}

/** Per pool: runs holding it, runs waiting for it. */
export interface ResourceUse {
  holders: ReadonlyMap<string, number>;
  waiters: ReadonlyMap<string, number>;
}

/** Every Prometheus metric of SPEC §13, on one registry per daemon (tests run several). */
export class Metrics {
  readonly registry = new Registry();
  private readonly jobLabels: boolean;
  private readonly runsTotal: Counter<'job' | 'status'>;
  private readonly runDuration: Histogram<'job'>;
  readonly scheduleLateness = new Histogram({
    name: 'distcron_schedule_lateness_seconds',
    help: 'Delay between a scheduled instant and the start of its fire',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300],
    registers: [this.registry],
  });
  readonly claimErrors = new Counter({
    name: 'distcron_claim_errors_total',
    help: 'Claims of a scheduled fire the store refused (retried with backoff; the instant is kept)',
    registers: [this.registry],
  });
  readonly nodesUp = new Gauge({
    name: 'distcron_nodes_up',
    help: 'Nodes currently up',
    registers: [this.registry],
  });
  readonly nodesDown = new Gauge({
    name: 'distcron_nodes_down',
    help: 'Nodes currently down',
    registers: [this.registry],
  });
  readonly sshConnectionsOpen = new Gauge({
    name: 'distcron_ssh_connections_open',
    help: 'Open pooled SSH connections',
    registers: [this.registry],
  });
  readonly outboxBacklog = new Gauge({
    name: 'distcron_outbox_backlog',
    help: 'Outbox entries waiting per sink',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: 'distcron_dead_letters_total',
    help: 'Outbox entries moved to the dead-letter table per sink',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });
  readonly configErrors = new Gauge({
    name: 'distcron_config_errors',
    help: 'Config files currently failing to load',
    registers: [this.registry],
  });
  readonly runsInFlight = new Gauge({
    name: 'distcron_runs_in_flight',
    help: 'Runs currently executing',
    registers: [this.registry],
  });
  readonly resourceAcquisitions = new Counter({
    name: 'distcron_resource_acquisitions_total',
    help: 'Acquisitions of each resource pool by runs of this daemon',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });
  readonly resourceWaitTimeouts = new Counter({
    name: 'distcron_resource_wait_timeouts_total',
    help: 'Runs of this daemon skipped because "resource_wait" ran out, by the pool they waited for',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });
  /** Holders and waiters per pool, cluster-wide: read from the store at each scrape (see watchResources). */
  private resourceUse?: () => Promise<ResourceUse>;
  private readonly resourceHolders = this.resourceGauge('holders', 'Runs holding each resource pool');
  private readonly resourceWaiters = this.resourceGauge('waiters', 'Runs waiting for each resource pool');

  constructor(options: MetricsOptions = {}) {
    this.jobLabels = options.jobLabels === true;
    this.runsTotal = new Counter({
      name: 'distcron_runs_total',
      help: this.jobLabels ? 'Finished runs by job and status' : 'Finished runs by status',
      labelNames: this.jobLabels ? ['job', 'status'] : ['status'],
      registers: [this.registry],
    });
    this.runDuration = new Histogram({
      name: 'distcron_run_duration_seconds',
      help: 'Run duration in seconds',
      labelNames: this.jobLabels ? ['job'] : [],
      buckets: [0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers: [this.registry],
    });
    if (options.defaultMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'distcron_' });
  }

  /** Where the holder and waiter gauges read from at each scrape. */
  watchResources(read: () => Promise<ResourceUse>): void {
    this.resourceUse = read;
  }

  private resourceGauge(what: keyof ResourceUse, help: string): Gauge<'pool'> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const metrics = this;
    return new Gauge({
      name: `distcron_resource_${what}`,
      help: `${help} (cluster-wide, read at scrape)`,
      labelNames: ['pool'] as const,
      registers: [this.registry],
      async collect() {
        const use = await metrics.resourceUse?.().catch(() => undefined);
        this.reset();
        for (const [pool, n] of use?.[what] ?? []) this.set({ pool }, n);
      },
    });
  }

  /** Counts a finished run and its duration (by job only with `jobLabels`). */
  observeRun(run: { job: string; status: string; duration_ms: number | null }): void {
    this.runsTotal.inc(this.jobLabels ? { job: run.job, status: run.status } : { status: run.status });
    if (run.duration_ms === null) return;
    if (this.jobLabels) this.runDuration.observe({ job: run.job }, run.duration_ms / 1000);
    else this.runDuration.observe(run.duration_ms / 1000);
  }
}
