import type { Metrics } from '../core/metrics.js';
import type { NodeDef } from '../core/types.js';
import { Limiter } from './limiter.js';

/** Runs in flight per node (least_loaded), and per-node slots (max_concurrent_runs). */
export class NodeLoadBook {
  private readonly inFlight = new Map<string, number>();
  private readonly limiters = new Map<string, Limiter>();
  private total = 0;

  constructor(private readonly metrics: Metrics) {}

  slots(node: NodeDef): Limiter {
    let limiter = this.limiters.get(node.name);
    if (!limiter) {
      limiter = new Limiter(node.maxConcurrentRuns);
      this.limiters.set(node.name, limiter);
    }
    return limiter;
  }

  resize(node: NodeDef): void {
    this.limiters.get(node.name)?.setCapacity(node.maxConcurrentRuns);
  }

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
  get running(): number {
    return this.total;
  }
}
