import { expect } from 'chai';
import { messageIdFor } from '../../../src/notify/email.js';
import { hostKeyChangedEntry } from '../../../src/notify/outbox.js';
import { TestSmtpServer } from '../../harness/smtp.js';
import { API_BASE, notifyJob, NotifyFixture } from './fixture.js';

const numbered = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`).join('\n') + '\n';

describe('notifications by e-mail (real SMTP server)', function () {
  this.timeout(30_000);
  let smtp: TestSmtpServer;
  let fx: NotifyFixture;

  beforeEach(async () => {
    smtp = await TestSmtpServer.start({ auth: { user: 'mailer', password: 'smtp-pass-s3cret' } });
    fx = new NotifyFixture(undefined, {
      smtp: { url: smtp.url, from: 'distcron <distcron@example.com>', tlsInsecure: true, requireTls: true },
      adminEmail: 'admin@example.com',
    });
  });
  afterEach(async () => {
    await fx.cleanup();
    await smtp.stop();
  });

  it('mails owners and notify.email a failure whose text and HTML carry every run fact', async () => {
    const job = fx.addJob(notifyJob('backup', { email: ['dba@example.com'] }));
    fx.start();
    const run = fx.finish(job, {
      status: 'failed',
      exit_code: 2,
      node: 'db1',
      host: '10.0.0.5',
      attempt: 2,
      duration_ms: 1500,
      stdout: numbered('out', 80),
      stderr: numbered('err <x> & "y"', 60),
    });
    const [a, b] = await smtp.waitForMessages(2);
    await fx.drained();
    expect([...a!.rcptTo, ...b!.rcptTo].sort()).to.deep.equal(['dba@example.com', 'ops@example.com']);
    const mail = a!.parsed;
    expect(mail.subject).to.equal('[distcron] FAILED backup on db1 (exit 2)');
    expect(a!.secure, 'STARTTLS upgraded the session').to.equal(true);
    expect(a!.user).to.equal('mailer');
    const url = `${API_BASE}/api/v1/runs/${run.id}`;
    const text = mail.text ?? '';
    const html = typeof mail.html === 'string' ? mail.html : '';
    for (const fact of [
      '/usr/local/bin/dump --all',
      'db1',
      '10.0.0.5',
      '1.500s',
      run.scheduled_at!,
      run.started_at!,
      url,
    ]) {
      expect(text, `text has ${fact}`).to.contain(fact);
      expect(html, `html has ${fact}`).to.contain(fact);
    }
    expect(text)
      .to.match(/Exit code:\s+2\n/)
      .and.match(/Attempt:\s+2\n/)
      .and.match(/Duration:\s+1\.500s/);
    expect(html)
      .to.contain('<th align="left">Exit code</th><td>2</td>')
      .and.contain('<th align="left">Attempt</th><td>2</td>');
    expect(text).to.contain('out 31\n').and.contain('out 80').and.not.contain('out 30\n');
    expect(text).to.contain('err <x> & "y" 11\n').and.contain('err <x> & "y" 60').and.not.contain('"y" 10\n');
    expect(html).to.contain('err &lt;x&gt; &amp; &quot;y&quot; 60').and.not.contain('err <x>');
    expect(html).to.contain('out 31\n').and.not.contain('out 30\n');
  });

  it('puts the idempotency key in X-Distcron-Delivery and the Message-ID', async () => {
    const job = fx.addJob(notifyJob('backup'));
    fx.start();
    const run = fx.finish(job, { status: 'timed_out', exit_code: null, signal: 'SIGKILL' });
    const [m] = await smtp.waitForMessages(1);
    expect(m!.deliveryKey).to.equal(`failure:${run.id}:email:ops@example.com`);
    expect(m!.parsed.messageId).to.equal(messageIdFor(m!.deliveryKey!));
    expect(m!.parsed.subject).to.equal('[distcron] TIMED OUT backup on db1 (signal SIGKILL)');
  });

  it('sends one failure mail for 100 failures in a row, then one recovery', async () => {
    const job = fx.addJob(notifyJob('flaky'));
    fx.start();
    for (let i = 0; i < 100; i++) fx.finish(job, { status: 'failed', exit_code: 1 });
    fx.finish(job, { status: 'succeeded' });
    fx.finish(job, { status: 'succeeded' });
    await fx.drained(20_000);
    await smtp.waitForMessages(2);
    await new Promise((r) => setTimeout(r, 200));
    expect(smtp.messages.map((m) => m.parsed.subject).sort()).to.deep.equal([
      '[distcron] FAILED flaky on db1 (exit 1)',
      '[distcron] RECOVERED flaky on db1',
    ]);
    expect(fx.store.getNotifyState('flaky')?.state).to.equal('ok');
  });

  it('mails missed runs and successes only to jobs that opted in', async () => {
    const quiet = fx.addJob(notifyJob('quiet'));
    const chatty = fx.addJob(notifyJob('chatty', { on: ['failure', 'missed', 'success'] }));
    fx.start();
    fx.finish(quiet, { status: 'missed', started_at: null, exit_code: null });
    fx.finish(quiet, { status: 'succeeded' });
    fx.finish(chatty, { status: 'missed', started_at: null, exit_code: null, node: null, host: null });
    fx.finish(chatty, { status: 'succeeded' });
    fx.finish(chatty, { status: 'cancelled', exit_code: null });
    await fx.drained();
    await smtp.waitForMessages(2);
    expect(smtp.messages.map((m) => m.parsed.subject).sort()).to.deep.equal([
      `[distcron] MISSED chatty (scheduled 2026-11-26T09:00:00.000Z)`,
      '[distcron] SUCCEEDED chatty on db1',
    ]);
  });

  it('mails a changed host key to the admin address', async () => {
    fx.start();
    const entry = hostKeyChangedEntry({
      node: 'db1',
      host: '10.0.0.5:22',
      expected: 'ssh-ed25519 AAAAold',
      actual: 'ssh-ed25519 AAAAnew',
      at: '2026-11-26T09:00:00.000Z',
    });
    fx.store.enqueueOutbox([entry]);
    fx.notifier!.notify();
    const [m] = await smtp.waitForMessages(1);
    expect(m!.rcptTo).to.deep.equal(['admin@example.com']);
    expect(m!.parsed.subject).to.equal('[distcron] HOST KEY CHANGED for node db1 (10.0.0.5:22)');
    expect(m!.parsed.text).to.contain('ssh-ed25519 AAAAold').and.contain('ssh-ed25519 AAAAnew');
  });

  it('dead-letters a damaged notify item and goes on with the next one', async () => {
    const job = fx.addJob(notifyJob('backup'));
    fx.store.enqueueOutbox([
      { sink: 'notify', key: 'run:damaged', payload: { kind: 'run_finished', run: null } },
    ]);
    fx.start();
    fx.finish(job, { status: 'failed' });
    await smtp.waitForMessages(1);
    expect(fx.store.listDeadLetters('notify').map((d) => d.key)).to.deep.equal(['run:damaged']);
  });

  it('delivers exactly once after the SMTP server was down', async () => {
    const job = fx.addJob(notifyJob('backup'));
    await smtp.stop();
    fx.start();
    fx.finish(job, { status: 'failed', exit_code: 3 });
    await new Promise((r) => setTimeout(r, 600));
    const [pending] = fx.store.takeOutbox('email', 10, Date.now() + 3_600_000);
    expect(pending?.attempts, 'failed attempts while SMTP was down').to.be.greaterThan(1);
    expect(pending?.lastError).to.match(/^email: SMTP delivery failed/);
    await smtp.restart();
    await smtp.waitForMessages(1);
    await fx.drained();
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.messages).to.have.length(1);
    expect(fx.store.listDeadLetters()).to.deep.equal([]);
  });

  it('dead-letters a mail the server rejects permanently, after a bounded number of attempts', async () => {
    await smtp.stop();
    smtp = await TestSmtpServer.start({ rejectRecipient: (a) => a.startsWith('gone@') });
    await fx.restart({ smtp: { url: smtp.url, from: 'distcron@example.com', tlsInsecure: true } });
    const job = fx.addJob(notifyJob('backup', { email: ['gone@example.com'] }));
    fx.finish(job, { status: 'failed' });
    await smtp.waitForMessages(1);
    await fx.drained();
    const [dead] = fx.store.listDeadLetters('email');
    expect(dead?.key).to.match(/^failure:[0-9A-Z]{26}:email:gone@example.com$/);
    expect(dead?.reason).to.match(/^permanent failure after 2 attempts: email: SMTP server rejected/);
    expect(smtp.messages.map((m) => m.rcptTo[0])).to.deep.equal(['ops@example.com']);
    expect(await fx.metrics.registry.getSingleMetricAsString('distcron_dead_letters_total')).to.contain(
      'sink="email"} 1',
    );
  });

  it('sends over smtps (TLS from the first byte)', async () => {
    await smtp.stop();
    smtp = await TestSmtpServer.start({ secure: true, auth: { user: 'u', password: 'p@ss:w/rd' } });
    await fx.restart({ smtp: { url: smtp.url, from: 'distcron@example.com', tlsInsecure: true } });
    const job = fx.addJob(notifyJob('backup'));
    fx.finish(job, { status: 'error', exit_code: null, error: 'ssh: connection refused' });
    const [m] = await smtp.waitForMessages(1);
    expect(m!.secure).to.equal(true);
    expect(m!.user).to.equal('u');
    expect(m!.parsed.text).to.contain('ssh: connection refused');
  });
});
