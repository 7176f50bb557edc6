import type { CommandSpec, Millis, NodeDef } from '../core/types.js';

export interface ExecRequest {
  runId: string;
  job: string;
  command: CommandSpec;
  /** The job's environment (plus any per-run extras). Local runs add it on top of the daemon's. */
  environment: Record<string, string>;
  workingDirectory?: string;
  timeoutMs?: number;
  /** Aborting cancels the run: the whole process tree is killed and the outcome is `cancelled`. */
  signal: AbortSignal;
  /** Cap per stream; head and end are kept (see OutputCapture). */
  outputLimitBytes: number;
  /** Called once the command has actually started (connection made, process spawned). */
  onStart?: (startedAt: Millis, host: string | null) => void;
  /** Every piece of output as it arrives, uncapped (live output, SPEC §17); must not throw. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
}

export interface ExecOutcome {
  status: 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'error';
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  outputTruncated: boolean;
  error: string | null;
  /**
   * True when the node could not be reached at all (connect, auth or host-key failure): the
   * command never started, so placement may mark the node down and try another candidate.
   */
  connectFailed: boolean;
  /** When the command started; null when it never did. */
  startedAt: Millis | null;
  finishedAt: Millis;
  /** Host actually used (e.g. "10.0.0.5:22"), or the local hostname. */
  host: string | null;
}

/** One transport (local processes, SSH). Implementations own their connections and clean up in close(). */
export interface Executor {
  run(node: NodeDef, req: ExecRequest): Promise<ExecOutcome>;
  /** Resolves when the node is reachable (used to bring a down node back up); rejects with the reason. */
  probe(node: NodeDef): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** Routes each node to the executor of its connection type. */
export class ExecutorRegistry implements Executor {
  constructor(private readonly byType: Partial<Record<NodeDef['connection']['type'], Executor>>) {}

  run(node: NodeDef, req: ExecRequest): Promise<ExecOutcome> {
    return this.pick(node).run(node, req);
  }

  probe(node: NodeDef): Promise<void> {
    return this.pick(node).probe(node);
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.byType).map((e) => e?.close()));
  }

  private pick(node: NodeDef): Executor {
    const executor = this.byType[node.connection.type];
    if (!executor) throw new Error(`exec: no executor for connection type "${node.connection.type}"`);
    return executor;
  }
}

export function errorOutcome(
  message: string,
  now: Millis,
  connectFailed: boolean,
  host: string | null = null,
): ExecOutcome {
  return {
    status: 'error',
    exitCode: null,
    signal: null,
    stdout: '',
    stderr: '',
    outputTruncated: false,
    error: message,
    connectFailed,
    startedAt: null,
    finishedAt: now,
    host,
  };
}
