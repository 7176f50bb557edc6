import { expect } from 'chai';
import type { NodeDef } from '../../../src/core/types.js';
import { type ExecOutcome, type ExecRequest, type Executor } from '../../../src/exec/executor.js';
import { LazyExecutor } from '../../../src/exec/lazy.js';

const node = { name: 'web1' } as NodeDef;
const request = { runId: 'r1' } as ExecRequest;
const outcome = { status: 'succeeded' } as ExecOutcome;

class Recording implements Executor {
  calls: string[] = [];
  run(): Promise<ExecOutcome> {
    this.calls.push('run');
    return Promise.resolve(outcome);
  }
  probe(): Promise<void> {
    this.calls.push('probe');
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.calls.push('close');
    return Promise.resolve();
  }
}

describe('exec: an executor made on first use', () => {
  it('is made once, on the first run or probe, and passes both through', async () => {
    const inner = new Recording();
    let made = 0;
    const lazy = new LazyExecutor(
      () => (made++, Promise.resolve(inner)),
      () => 0,
    );
    expect(made).to.equal(0);
    expect(await lazy.run(node, request)).to.equal(outcome);
    await lazy.probe(node);
    expect(made).to.equal(1);
    expect(inner.calls).to.deep.equal(['run', 'probe']);
  });

  it('turns a failure to make it into an error outcome of the run, and a rejected probe', async () => {
    const lazy = new LazyExecutor(
      () => Promise.reject(new Error('ssh: cannot load ssh2')),
      () => 42,
    );
    const result = await lazy.run(node, request);
    expect(result).to.include({ status: 'error', error: 'ssh: cannot load ssh2', finishedAt: 42 });
    let probeError: Error | undefined;
    await lazy.probe(node).catch((err: Error) => (probeError = err));
    expect(probeError?.message).to.equal('ssh: cannot load ssh2');
  });

  it('closes what it made, and never makes anything once closed unused', async () => {
    const inner = new Recording();
    const used = new LazyExecutor(
      () => Promise.resolve(inner),
      () => 0,
    );
    await used.run(node, request);
    await used.close();
    expect(inner.calls).to.deep.equal(['run', 'close']);

    let made = 0;
    const unused = new LazyExecutor(
      () => (made++, Promise.resolve(new Recording())),
      () => 7,
    );
    await unused.close();
    expect((await unused.run(node, request)).status).to.equal('error');
    expect(made).to.equal(0);
  });
});
