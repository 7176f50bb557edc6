import { MAX_TIMER_MS, type Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { Millis, NodeDef } from '../core/types.js';
import type { NodeHealth } from './control.js';

export interface NodeHealthOptions {
  clock: Clock;
  logger: Logger;
  /** Connects to the node; rejects with the reason. */
  probe: (node: NodeDef) => Promise<void>;
  lookup: (name: string) => NodeDef | undefined;
  onChange?: (node: string, up: boolean) => void;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

interface HealthEntry {
  up: boolean;
  lastError: string | null;
  lastCheckedAt: Millis | null;
  backoffMs: number;
  nextProbeAt: Millis | null;
  timer: NodeJS.Timeout | null;
}

/**
 * SPEC §6: a failed connection marks a node down; it is re-probed with exponential backoff
 * (5 s doubling to 5 min) and marked up again on success. Nodes start up (optimistic): the first
 * run finds out, which costs nothing when they are.
 */
export class NodeHealthTracker {
  private readonly entries = new Map<string, HealthEntry>();
  private closed = false;

  constructor(private readonly options: NodeHealthOptions) {}

  isUp(node: string): boolean {
    return this.entries.get(node)?.up ?? true;
  }

  view(node: string): NodeHealth {
    const e = this.entries.get(node);
    const iso = (t: Millis | null) => (t === null ? null : new Date(t).toISOString());
    return {
      up: e?.up ?? true,
      lastError: e?.lastError ?? null,
      lastCheckedAt: iso(e?.lastCheckedAt ?? null),
      nextProbeAt: iso(e?.nextProbeAt ?? null),
    };
  }

  markUp(node: string): void {
    const e = this.entry(node);
    e.lastCheckedAt = this.options.clock.now();
    if (e.up) return;
    this.clearTimer(e);
    Object.assign(e, { up: true, backoffMs: this.options.initialBackoffMs, nextProbeAt: null });
    this.options.logger.info({ node }, 'node is up again');
    this.options.onChange?.(node, true);
  }

  markDown(node: string, reason: string): void {
    const e = this.entry(node);
    e.lastError = reason;
    e.lastCheckedAt = this.options.clock.now();
    if (!e.up) return;
    e.up = false;
    this.options.logger.warn({ node, reason }, 'node is down');
    this.options.onChange?.(node, false);
    this.scheduleProbe(node, e);
  }

  /**
   * Probes now every down node whose last error `matches` (e.g. a host-key refusal after the
   * known_hosts file changed), with the backoff reset: the fix takes effect at once.
   */
  reprobeNow(matches: (lastError: string) => boolean): string[] {
    const probed: string[] = [];
    for (const [node, e] of this.entries) {
      if (e.up || this.closed || !matches(e.lastError ?? '')) continue;
      this.clearTimer(e);
      e.backoffMs = this.options.initialBackoffMs;
      e.nextProbeAt = this.options.clock.now();
      void this.probe(node, e);
      probed.push(node);
    }
    return probed;
  }

  /** Node removed from config: stop probing it. */
  forget(node: string): void {
    const e = this.entries.get(node);
    if (e) this.clearTimer(e);
    this.entries.delete(node);
  }

  counts(): { up: number; down: number } {
    let down = 0;
    for (const e of this.entries.values()) if (!e.up) down++;
    return { up: this.entries.size - down, down };
  }

  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) this.clearTimer(e);
  }

  private entry(node: string): HealthEntry {
    let e = this.entries.get(node);
    if (!e) {
      e = {
        up: true,
        lastError: null,
        lastCheckedAt: null,
        backoffMs: this.options.initialBackoffMs,
        nextProbeAt: null,
        timer: null,
      };
      this.entries.set(node, e);
    }
    return e;
  }

  private scheduleProbe(node: string, e: HealthEntry): void {
    if (this.closed) return;
    this.clearTimer(e);
    e.nextProbeAt = this.options.clock.now() + e.backoffMs;
    // A probe may come early, never at once: past MAX_TIMER_MS a timer would fire immediately.
    e.timer = setTimeout(() => void this.probe(node, e), Math.min(e.backoffMs, MAX_TIMER_MS));
    e.timer.unref();
  }

  private async probe(node: string, e: HealthEntry): Promise<void> {
    e.timer = null;
    const def = this.options.lookup(node);
    if (!def || this.closed || e.up) return;
    try {
      await this.options.probe(def);
      this.markUp(node);
    } catch (err) {
      e.lastError = (err as Error).message;
      e.lastCheckedAt = this.options.clock.now();
      e.backoffMs = Math.min(e.backoffMs * 2, this.options.maxBackoffMs);
      this.scheduleProbe(node, e);
    }
  }

  private clearTimer(e: HealthEntry): void {
    if (e.timer) clearTimeout(e.timer);
    e.timer = null;
  }
}
