import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { DaemonEnv } from '../../harness/daemon-env.js';

describe('daemon: waiting for a run', function () {
  this.timeout(30_000);
  let env: DaemonEnv;
  beforeEach(() => (env = new DaemonEnv()));
  afterEach(() => env.cleanup());

  it('leaves no listener behind on the caller signal, whether the wait ends or is aborted', async () => {
    env.writeNode('local', { roles: ['r'], connection_type: 'local' });
    env.writeJob('nap', {
      policy: { select: 'any', roles: ['r'] },
      overlap: 'allow',
      command: ['sleep', '0.5'],
    });
    const daemon = await env.start();
    const shared = new AbortController().signal;
    const first = await daemon.control.runJob('nap', {});
    const done = await daemon.control.waitForRun(first.runIds[0]!, shared);
    expect(done.status).to.equal('succeeded');
    expect(getEventListeners(shared, 'abort')).to.have.length(0);

    const second = await daemon.control.runJob('nap', {});
    const giveUp = new AbortController();
    const abandoned = daemon.control.waitForRun(second.runIds[0]!, giveUp.signal);
    giveUp.abort();
    const reason = await abandoned.then(
      () => 'resolved',
      (err: Error) => err.message,
    );
    expect(reason).to.equal('aborted');
    const final = await daemon.control.waitForRun(second.runIds[0]!);
    expect(final.status).to.equal('succeeded');
  });
});
