import type { Metrics } from '../core/metrics.js';

/**
 * Runs in flight per node on this member (metrics, the API's node view, the heartbeat);
 * max_concurrent_runs and least_loaded count the cluster's (node-slots.ts).
 */
export class NodeLoadBook {
  private readonly inFlight = new Map<string, number>();
  private total = 0;

  constructor(private readonly metrics: Metrics) {}

  load(name: string, up: boolean) {
    return { up, inFlight: this.inFlight.get(name) ?? 0 };
  }

  start(name: string): void {
    this.inFlight.set(name, (this.inFlight.get(name) ?? 0) + 1);
    this.metrics.runsInFlight.set(++this.total);
  }

  end(name: string): void {
    this.inFlight.set(name, Math.max(0, (this.inFlight.get(name) ?? 1) - 1));
    this.metrics.runsInFlight.set(--this.total);
  }

  /** Runs executing on this daemon's nodes now. */
  /** Runs of this member placed on the node (waiting for a slot or executing). */
  runningOn(name: string): number {
    return this.inFlight.get(name) ?? 0;
  }

  get running(): number {
    return this.total;
  }
}
