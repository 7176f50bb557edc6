import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every Prometheus metric of SPEC §13, on one registry per daemon (tests run several). */
export class Metrics {
  readonly registry = new Registry();
  readonly runsTotal = new Counter({
    name: 'distcron_runs_total',
    help: 'Finished runs by job and status',
    labelNames: ['job', 'status'] as const,
    registers: [this.registry],
  });
  readonly runDuration = new Histogram({
    name: 'distcron_run_duration_seconds',
    help: 'Run duration in seconds',
    labelNames: ['job'] as const,
    buckets: [0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [this.registry],
  });
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

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'distcron_' });
  }
}
