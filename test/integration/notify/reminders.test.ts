import { expect } from 'chai';
import { ManualClock } from '../../../src/core/clock.js';
import { REFERENCE_TIME } from '../../harness/runs.js';
import { TestSmtpServer } from '../../harness/smtp.js';
import { notifyJob, NotifyFixture } from './fixture.js';

const HOUR = 3_600_000;

/** Lets the notifier's loops (woken by the clock) run and the SMTP round trips finish. */
const settle = () => new Promise((r) => setTimeout(r, 300));

describe('notification reminders, flood guard and persisted state (injected clock)', function () {
  this.timeout(30_000);
  let smtp: TestSmtpServer;
  let clock: ManualClock;
  let fx: NotifyFixture;

  beforeEach(async () => {
    smtp = await TestSmtpServer.start();
    clock = new ManualClock(REFERENCE_TIME);
    fx = new NotifyFixture(clock, {
      smtp: { url: smtp.url, from: 'distcron@example.com', tlsInsecure: true },
    });
  });
  afterEach(async () => {
    await fx.cleanup();
    await smtp.stop();
  });

  const subjects = () => smtp.messages.map((m) => m.parsed.subject);

  it('reminds every 24 h while a job keeps failing, and stops after the recovery', async () => {
    const job = fx.addJob(notifyJob('backup'));
    fx.start();
    fx.finish(job, { status: 'failed', exit_code: 1, stderr: 'first\n' });
    await smtp.waitForMessages(1);
    clock.advance(23 * HOUR);
    fx.finish(job, { status: 'failed', exit_code: 7, stderr: 'latest failure\n' });
    await settle();
    expect(smtp.messages).to.have.length(1);
    clock.advance(HOUR);
    const [, reminder] = await smtp.waitForMessages(2);
    expect(reminder!.parsed.subject).to.equal(
      '[distcron] STILL FAILING backup on db1 (since 2026-11-26T09:00:00.000Z)',
    );
    expect(reminder!.parsed.text)
      .to.contain('latest failure')
      .and.match(/Exit code:\s+7/);
    clock.advance(24 * HOUR);
    await smtp.waitForMessages(3);
    fx.finish(job, { status: 'succeeded' });
    await smtp.waitForMessages(4);
    clock.advance(48 * HOUR);
    await settle();
    expect(subjects()).to.deep.equal([
      '[distcron] FAILED backup on db1 (exit 1)',
      '[distcron] STILL FAILING backup on db1 (since 2026-11-26T09:00:00.000Z)',
      '[distcron] STILL FAILING backup on db1 (since 2026-11-26T09:00:00.000Z)',
      '[distcron] RECOVERED backup on db1',
    ]);
  });

  it('uses the daemon remindEveryMs unless the job sets its own', async () => {
    fx.addJob(notifyJob('hourly', { remindEveryMs: HOUR }));
    const daily = fx.addJob(notifyJob('daily'));
    fx.start({ remindEveryMs: 6 * HOUR });
    fx.finish(fx.jobs.get('hourly')!, { status: 'failed' });
    fx.finish(daily, { status: 'failed' });
    await smtp.waitForMessages(2);
    for (let hour = 1; hour <= 6; hour++) {
      clock.advance(HOUR);
      await smtp.waitForMessages(2 + hour + (hour === 6 ? 1 : 0));
    }
    await settle();
    const reminders = subjects().filter((s) => s?.startsWith('[distcron] STILL FAILING'));
    expect(reminders.filter((s) => s!.includes(' hourly '))).to.have.length(6);
    expect(reminders.filter((s) => s!.includes(' daily '))).to.have.length(1);
  });

  it('sends one reminder, not a burst, when the clock jumps past several due instants', async () => {
    const job = fx.addJob(notifyJob('backup'));
    fx.start();
    fx.finish(job, { status: 'failed' });
    await smtp.waitForMessages(1);
    clock.advance(5 * 24 * HOUR);
    await smtp.waitForMessages(2);
    await settle();
    expect(smtp.messages).to.have.length(2);
  });

  it('keeps the failing state and the last reminder across a restart', async () => {
    const job = fx.addJob(notifyJob('backup'));
    fx.start();
    fx.finish(job, { status: 'failed' });
    await smtp.waitForMessages(1);
    clock.advance(24 * HOUR);
    await smtp.waitForMessages(2);
    await fx.restart();
    const state = fx.store.getNotifyState('backup');
    expect(state).to.deep.include({
      state: 'failing',
      since: REFERENCE_TIME,
      lastReminderAt: REFERENCE_TIME + 24 * HOUR,
    });
    fx.finish(job, { status: 'failed' });
    clock.advance(23 * HOUR);
    await settle();
    expect(smtp.messages, 'no new failure mail and no early reminder after the restart').to.have.length(2);
    fx.finish(job, { status: 'succeeded' });
    await smtp.waitForMessages(3);
    expect(subjects()[2]).to.equal('[distcron] RECOVERED backup on db1');
  });

  it('caps notifications per job per hour and says so in the last one', async () => {
    const job = fx.addJob(notifyJob('chatty', { on: ['success'] }));
    fx.start({ floodPerHour: 3 });
    const runs = Array.from({ length: 6 }, () => fx.finish(job, { status: 'succeeded' }));
    await smtp.waitForMessages(3);
    await fx.drained();
    await settle();
    expect(smtp.messages).to.have.length(3);
    const noticed = smtp.messages.filter((m) => m.parsed.text?.includes('Flood guard'));
    expect(noticed.map((m) => m.deliveryKey)).to.deep.equal([`success:${runs[2]!.id}:email:ops@example.com`]);
    expect(noticed[0]!.parsed.text).to.contain(
      'Flood guard: this is the last notification for job chatty until 2026-11-26T10:00:00.000Z',
    );
    expect(fx.log()).to.contain('flood guard suppressed a notification');
    clock.advance(HOUR);
    fx.finish(job, { status: 'succeeded' });
    await smtp.waitForMessages(4);
  });
});
