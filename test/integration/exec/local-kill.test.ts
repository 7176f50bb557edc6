import { expect } from 'chai';
import { LocalExecutor } from '../../../src/exec/local.js';
import { killAll, LOCAL_NODE, processesWith, request, shell, sleepMarker, waitFor } from './local-support.js';

/** Timeout, cancel and shutdown end the whole process tree of a run, never just its leader. */
describe('LocalExecutor: killing runs', function () {
  this.timeout(30_000);
  let marker: string;
  const executors: LocalExecutor[] = [];
  const executor = (options: ConstructorParameters<typeof LocalExecutor>[0]) => {
    const e = new LocalExecutor(options);
    executors.push(e);
    return e;
  };

  beforeEach(() => {
    marker = sleepMarker();
  });
  afterEach(() => killAll(marker));
  after(async () => {
    await Promise.all(executors.map((e) => e.close()));
  });

  it('on timeout SIGTERMs the whole tree: no background grandchild survives', async () => {
    const local = executor({ killGraceMs: 5000 });
    let seenRunning = 0;
    const running = local.run(
      LOCAL_NODE,
      request(shell(`sleep ${marker} & sleep ${marker} & wait`), {
        timeoutMs: 2000,
        onStart: () => {
          waitFor(() => (seenRunning = processesWith(marker).length) >= 3, 'sleepers').catch(() => undefined);
        },
      }),
    );
    const outcome = await running;
    expect(seenRunning).to.equal(3); // the shell and its two sleepers, all carrying the marker
    expect(outcome).to.include({ status: 'timed_out', exitCode: null, signal: 'SIGTERM' });
    expect(outcome.error).to.equal('local: timed out after 2000 ms; the whole process group was killed');
    expect(processesWith(marker)).to.deep.equal([]);
  });

  it('on cancel kills the whole tree and records the run as cancelled', async () => {
    const local = executor({ killGraceMs: 5000 });
    const cancel = new AbortController();
    const running = local.run(
      LOCAL_NODE,
      request(shell(`sleep ${marker} & sleep ${marker} & wait`), { signal: cancel.signal }),
    );
    await waitFor(() => processesWith(marker).length === 3, 'the shell and two sleepers');
    cancel.abort();
    const outcome = await running;
    expect(outcome).to.include({ status: 'cancelled', signal: 'SIGTERM' });
    expect(outcome.startedAt).to.be.a('number');
    expect(processesWith(marker)).to.deep.equal([]);
  });

  it('SIGKILLs a command that ignores SIGTERM once the grace has passed', async () => {
    const local = executor({ killGraceMs: 300 });
    const outcome = await local.run(
      LOCAL_NODE,
      request(shell(`trap "" TERM; sleep ${marker} & sleep ${marker}; wait`), { timeoutMs: 300 }),
    );
    expect(outcome).to.include({ status: 'timed_out', exitCode: null, signal: 'SIGKILL' });
    expect(processesWith(marker)).to.deep.equal([]);
  });

  it('waits for a grandchild that ignores SIGTERM (and holds no pipe) and SIGKILLs it too', async () => {
    const local = executor({ killGraceMs: 500 });
    const script = `(trap "" TERM; exec sleep ${marker}) >/dev/null 2>&1 & wait`;
    const cancel = new AbortController();
    const running = local.run(LOCAL_NODE, request(shell(script), { signal: cancel.signal }));
    await waitFor(() => processesWith(marker).length === 2, 'the shell and the sleeper');
    cancel.abort();
    const outcome = await running;
    expect(outcome).to.include({ status: 'cancelled', signal: 'SIGTERM' }); // the shell itself obeyed
    expect(processesWith(marker)).to.deep.equal([]);
  });

  it('kills a background process that keeps the output pipes open after the command exited', async () => {
    const local = executor({ pipeDrainMs: 200 });
    const outcome = await local.run(LOCAL_NODE, request(shell(`sleep ${marker} & echo done`)));
    expect(outcome).to.include({ status: 'succeeded', exitCode: 0, stdout: 'done\n' });
    expect(outcome.stderr).to.include('a background process kept its output open');
    expect(processesWith(marker)).to.deep.equal([]);
  });

  it('leaves alone a background process that let go of the output (a daemonized service)', async () => {
    const local = executor({ pipeDrainMs: 200 });
    const outcome = await local.run(
      LOCAL_NODE,
      request(shell(`sleep ${marker} >/dev/null 2>&1 & echo started`)),
    );
    expect(outcome).to.include({ status: 'succeeded', stdout: 'started\n', stderr: '' });
    expect(processesWith(marker)).to.have.length(1);
  });

  it('a cancel that arrives before the start runs nothing', async () => {
    const local = executor({});
    const cancel = new AbortController();
    cancel.abort();
    let started = false;
    const outcome = await local.run(
      LOCAL_NODE,
      request(shell(`sleep ${marker}`), { signal: cancel.signal, onStart: () => (started = true) }),
    );
    expect(outcome).to.include({ status: 'cancelled', startedAt: null });
    expect(started).to.equal(false);
    expect(processesWith(marker)).to.deep.equal([]);
  });

  it('close() SIGKILLs running process groups at once, is idempotent, and refuses new runs', async () => {
    const local = new LocalExecutor({ killGraceMs: 60_000 });
    const running = local.run(LOCAL_NODE, request(shell(`trap "" TERM; sleep ${marker} & wait`)));
    await waitFor(() => processesWith(marker).length === 2, 'the shell and the sleeper');
    await local.close();
    const outcome = await running;
    expect(outcome).to.include({ status: 'cancelled', signal: 'SIGKILL' });
    expect(outcome.error).to.match(/daemon shut down/);
    expect(processesWith(marker)).to.deep.equal([]);
    await local.close();
    const refused = await local.run(LOCAL_NODE, request(shell('true')));
    expect(refused.status).to.equal('error');
    expect(refused.error).to.match(/executor is closed/);
  });
});
