import type { Millis, NodeDef } from '../core/types.js';
import { errorOutcome, type ExecOutcome, type ExecRequest, type Executor } from './executor.js';

/**
 * An executor made on first use. The SSH transport pulls in ssh2, about 0.1 s of start-up CPU
 * that a daemon whose jobs all run locally never needs, and a fleet daemon not before it is
 * ready to schedule.
 */
export class LazyExecutor implements Executor {
  private made: Promise<Executor> | undefined;
  private closed = false;

  constructor(
    private readonly make: () => Promise<Executor>,
    private readonly now: () => Millis,
  ) {}

  async run(node: NodeDef, req: ExecRequest): Promise<ExecOutcome> {
    let executor: Executor;
    try {
      executor = await this.executor();
    } catch (err) {
      return errorOutcome((err as Error).message, this.now(), false);
    }
    return executor.run(node, req);
  }

  async probe(node: NodeDef): Promise<void> {
    return (await this.executor()).probe(node);
  }

  async close(): Promise<void> {
    this.closed = true;
    const executor = await this.made?.catch(() => undefined);
    await executor?.close();
  }

  private executor(): Promise<Executor> {
    if (this.closed && !this.made) return Promise.reject(new Error('exec: executor is closed'));
    return (this.made ??= this.make());
  }
}
