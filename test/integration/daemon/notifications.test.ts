import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { expect } from 'chai';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { HttpReceiver } from '../../harness/http-receiver.js';
import { TestSmtpServer } from '../../harness/smtp.js';

describe('daemon: failures reach owners by e-mail and webhook (real SMTP and HTTP servers)', function () {
  this.timeout(60_000);
  let env: DaemonEnv;
  let smtp: TestSmtpServer;
  let hooks: HttpReceiver;

  beforeEach(async () => {
    env = new DaemonEnv();
    smtp = await TestSmtpServer.start();
    hooks = await HttpReceiver.start();
    env.writeNode('local', { roles: ['local'], connection_type: 'local' });
  });
  afterEach(async () => {
    delete process.env.DISTCRON_TEST_HOOK_SECRET;
    await env.cleanup();
    await smtp.stop();
    await hooks.close();
  });

  it('sends one failure mail and one signed webhook for three failures in a row, then a recovery', async () => {
    process.env.DISTCRON_TEST_HOOK_SECRET = 'hook-secret-for-test';
    env.writeJob('backup', {
      owners: [{ name: 'Ops', email_address: 'ops@example.com' }],
      policy: { select: 'any', roles: ['local'] },
      shell_command: 'test -e "$MARKER" || { echo disk full >&2; exit 2; }',
      environment: { MARKER: `${env.dir}/ok` },
      notify: {
        webhooks: [
          { url: hooks.url(), secret_env: 'DISTCRON_TEST_HOOK_SECRET', on: ['failure', 'recovery'] },
        ],
      },
    });
    // The test server's STARTTLS certificate is self-signed, as with many internal relays.
    const daemon = await env.start({
      smtpUrl: smtp.url,
      smtpTlsInsecure: true,
      mailFrom: 'distcron@example.com',
      apiBaseUrl: 'http://distcron.test',
    });
    for (let i = 0; i < 3; i++) {
      const { runIds } = await daemon.control.runJob('backup', {});
      expect(await daemon.control.waitForRun(runIds[0]!)).to.include({ status: 'failed', exit_code: 2 });
    }
    const [mail] = await smtp.waitForMessages(1);
    expect(mail!.rcptTo).to.deep.equal(['ops@example.com']);
    expect(mail!.parsed.subject).to.match(/backup/);
    expect(mail!.parsed.text).to.include('disk full');
    const [hook] = await hooks.waitForRequests(1);
    const expected = `sha256=${createHmac('sha256', 'hook-secret-for-test').update(hook!.body).digest('hex')}`;
    expect(hook!.headers['x-distcron-signature']).to.equal(expected);
    expect(JSON.parse(hook!.body)).to.include({ event: 'failure' });

    writeFileSync(`${env.dir}/ok`, '');
    const { runIds } = await daemon.control.runJob('backup', {});
    expect(await daemon.control.waitForRun(runIds[0]!)).to.include({ status: 'succeeded' });
    const mails = await smtp.waitForMessages(2);
    expect(mails[1]!.parsed.subject).to.match(/recover/i);
    await new Promise((r) => setTimeout(r, 500));
    expect(smtp.messages).to.have.length(2);
  });
});
