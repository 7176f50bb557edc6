import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import { silentLogger } from '../../core/log.js';
import type { Metrics } from '../../core/metrics.js';
import type { Millis, NodeDef } from '../../core/types.js';

export interface HostKeyChangedEvent {
  node: string;
  /** `[host]:port` as looked up in known_hosts. */
  host: string;
  /** Fingerprints of the keys that were expected ("ssh-ed25519 SHA256:…", comma-separated). */
  expected: string;
  /** Fingerprint of the key the server presented. */
  actual: string;
  at: Millis;
}

export interface SshExecutorOptions {
  /** OpenSSH-format known_hosts consulted when a node has no pinned `ssh_host_key`. */
  knownHostsFile?: string;
  hostKeyPolicy: 'strict' | 'tofu';
  /** Where tofu records first-seen keys (default: knownHostsFile). Also consulted on lookup. */
  tofuKnownHostsFile?: string;
  connectTimeoutMs: number;
  /** A pooled connection with no run for this long is closed. */
  idleTimeoutMs: number;
  /** Extra connections (opened because the server refused another session) close sooner. */
  extraIdleTimeoutMs: number;
  keepaliveIntervalMs: number;
  /** Missed keepalive replies before the connection counts as dead. */
  keepaliveCountMax: number;
  /** Between TERM and KILL of the remote process group on timeout/cancel. */
  killGraceMs: number;
  /** Resolves `ssh_jump` names to nodes. */
  resolveNode: (name: string) => NodeDef | undefined;
  onHostKeyChanged?: (e: HostKeyChangedEvent) => void;
  metrics?: Metrics;
  logger: Logger;
  clock: Clock;
}

export type SshExecutorInput = Partial<SshExecutorOptions> & Pick<SshExecutorOptions, 'resolveNode'>;

export const SSH_DEFAULTS = {
  hostKeyPolicy: 'strict',
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  extraIdleTimeoutMs: 10_000,
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 3,
  killGraceMs: 2_000,
} as const;

export function resolveSshOptions(input: SshExecutorInput): SshExecutorOptions {
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  return {
    ...SSH_DEFAULTS,
    logger: silentLogger(),
    clock: systemClock,
    ...defined,
  } as SshExecutorOptions;
}
