import type { Clock } from '../../src/core/clock.js';
import type { NodeDef } from '../../src/core/types.js';
import type { ExecOutcome, ExecRequest, Executor } from '../../src/exec/executor.js';

export type Script = 'succeed' | 'fail' | 'hold' | 'unreachable';

export interface Call {
  node: string;
  req: ExecRequest;
  finish: (status: 'succeeded' | 'failed') => void;
}

/**
 * Stands in for the transport in scheduling-engine tests only (which instant fires, how often,
 * with which trigger): real local and SSH executors have their own suites against real processes
 * and real sshd. `hold` keeps a run going until the test finishes it or it is cancelled.
 */
export class ScriptedExecutor implements Executor {
  readonly calls: Call[] = [];
  script: (job: string, node: string) => Script = () => 'succeed';

  constructor(private readonly clock: Clock) {}

  run(node: NodeDef, req: ExecRequest): Promise<ExecOutcome> {
    const mode = this.script(req.job, node.name);
    if (mode === 'unreachable')
      return Promise.resolve(
        this.outcome('error', { connectFailed: true, error: `ssh: ${node.name} unreachable` }),
      );
    req.onStart?.(this.clock.now(), node.name);
    return new Promise((resolve) => {
      const finish = (status: 'succeeded' | 'failed') =>
        resolve(this.outcome(status, { exitCode: status === 'succeeded' ? 0 : 1, host: node.name }));
      this.calls.push({ node: node.name, req, finish });
      req.signal.addEventListener('abort', () => resolve(this.outcome('cancelled', { host: node.name })), {
        once: true,
      });
      if (mode !== 'hold') finish(mode === 'succeed' ? 'succeeded' : 'failed');
    });
  }

  async probe(): Promise<void> {}

  async close(): Promise<void> {}

  held(job?: string): Call[] {
    return this.calls.filter((c) => !job || c.req.job === job);
  }

  private outcome(status: ExecOutcome['status'], extra: Partial<ExecOutcome>): ExecOutcome {
    const now = this.clock.now();
    return {
      status,
      exitCode: null,
      signal: null,
      stdout: '',
      stderr: '',
      outputTruncated: false,
      error: null,
      connectFailed: false,
      startedAt: extra.connectFailed ? null : now,
      finishedAt: now,
      host: null,
      ...extra,
    };
  }
}
