import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { JobDef } from '../../../src/core/types.js';
import { HttpReceiver } from '../../harness/http-receiver.js';
import { TestSmtpServer } from '../../harness/smtp.js';
import { notifyJob, NotifyFixture } from './fixture.js';

const CHILD = fileURLToPath(new URL('./notifier.child.ts', import.meta.url));

async function startChild(config: {
  dbPath: string;
  smtpUrl: string;
  jobs: JobDef[];
}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  expect(chunk.toString()).to.equal('ready\n');
  return child;
}

async function kill9(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  const [, signal] = (await exited) as [number | null, string | null];
  expect(signal).to.equal('SIGKILL');
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('notifications across kill -9 of the notifying process', function () {
  this.timeout(60_000);
  let smtp: TestSmtpServer;
  let http: HttpReceiver;
  let fx: NotifyFixture;
  let child: ChildProcess | null = null;

  beforeEach(async () => {
    smtp = await TestSmtpServer.start();
    http = await HttpReceiver.start();
    fx = new NotifyFixture();
  });
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) await kill9(child);
    await fx.cleanup();
    await smtp.stop();
    await http.close();
  });

  it('delivers pending e-mails and webhooks after a restart, each exactly once', async () => {
    const jobs = ['alpha', 'beta', 'gamma'].map((name) =>
      notifyJob(name, {
        email: [`${name}@example.com`],
        webhooks: [{ url: http.url(`/${name}`), format: 'json' }],
      }),
    );
    const config = { dbPath: fx.dbPath, smtpUrl: smtp.url, jobs };
    await smtp.stop();
    http.setFallback({ status: 500 });
    child = await startChild(config);
    fx.finish(jobs[0]!, { status: 'failed' });
    fx.finish(jobs[1]!, { status: 'timed_out' });
    // Planned into 4 e-mails and 2 webhooks, all failing and waiting for a retry.
    await until('planned deliveries', () => {
      const b = fx.store.outboxBacklog();
      return b.notify === 0 && b.email === 4 && b.webhook === 2 && http.requests.length >= 2;
    });
    await kill9(child);
    // Finished while no notifier runs: stays in the notify outbox.
    fx.finish(jobs[2]!, { status: 'lost', exit_code: null });
    expect(fx.store.outboxBacklog().notify).to.equal(1);

    await smtp.restart();
    http.setFallback({ status: 200 });
    child = await startChild(config);
    await smtp.waitForMessages(6, 20_000);
    await http.waitForRequests(3, 20_000, (r) => r.status === 200);
    await fx.drained(20_000);
    await new Promise((r) => setTimeout(r, 500));

    expect([...smtp.keyCounts().values()]).to.deep.equal([1, 1, 1, 1, 1, 1]);
    expect(smtp.messages.flatMap((m) => m.rcptTo).sort()).to.deep.equal([
      'alpha@example.com',
      'beta@example.com',
      'gamma@example.com',
      'ops@example.com',
      'ops@example.com',
      'ops@example.com',
    ]);
    const accepted = http.accepted();
    expect(accepted.map((r) => r.path).sort()).to.deep.equal(['/alpha', '/beta', '/gamma']);
    expect(new Set(accepted.map((r) => r.headers['x-distcron-delivery'])).size).to.equal(3);
    expect(fx.store.getNotifyState('gamma')?.state).to.equal('failing');
  });
});
