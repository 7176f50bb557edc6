import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { HttpReceiver } from '../../harness/http-receiver.js';
import { TestSmtpServer } from '../../harness/smtp.js';
import { notifyJob, NotifyFixture } from './fixture.js';

const SMTP_PASSWORD = 'Smtp-Pa55word-9f3k';
const INLINE_SECRET = 'inline-hook-secret-7Qx2';
const ENV_SECRET = 'env-hook-secret-Lm41';
/** Credentials inside a webhook URL: the URL is stored (it must be), but only its origin is logged. */
const URL_PASSWORD = 'url-pass-Zr8';

describe('notification secrets', function () {
  this.timeout(30_000);

  it('never writes the SMTP password or a webhook secret to the log, the outbox or the dead letters', async () => {
    const smtp = await TestSmtpServer.start({ auth: { user: 'mailer', password: SMTP_PASSWORD } });
    const http = await HttpReceiver.start();
    const fx = new NotifyFixture(undefined, {
      smtp: {
        url: `smtp://mailer:${encodeURIComponent(SMTP_PASSWORD)}@127.0.0.1:${smtp.port}`,
        from: 'd@example.com',
        tlsInsecure: true,
      },
      resolveSecretEnv: (name) => (name === 'HOOK_SECRET' ? ENV_SECRET : undefined),
    });
    try {
      await smtp.stop();
      http.setFallback({ status: 500 });
      const job = fx.addJob(
        notifyJob('backup', {
          webhooks: [
            { url: http.url('/inline'), secret: INLINE_SECRET, format: 'json' },
            { url: http.url('/env'), secretEnv: 'HOOK_SECRET', format: 'slack' },
            { url: http.url('/gone'), secretEnv: 'UNSET_SECRET', format: 'json' },
            { url: `http://user:${URL_PASSWORD}@127.0.0.1:1/refused`, format: 'json' },
          ],
        }),
      );
      fx.start();
      fx.finish(job, { status: 'failed' });
      await http.waitForRequests(6);
      await new Promise((r) => setTimeout(r, 400));
      const stored = JSON.stringify(fx.store.takeOutbox('webhook', 100, Date.now() + 86_400_000));
      const dead = JSON.stringify(fx.store.listDeadLetters());
      await fx.notifier!.close();
      const log = fx.log();
      expect(log, 'the failures were logged')
        .to.contain('email delivery failed')
        .and.contain('webhook delivery failed');
      expect(dead, 'the unset secret_env was dead-lettered').to.contain('UNSET_SECRET');
      const db =
        readFileSync(fx.dbPath).toString('latin1') + readFileSync(`${fx.dbPath}-wal`).toString('latin1');
      for (const secret of [SMTP_PASSWORD, encodeURIComponent(SMTP_PASSWORD), INLINE_SECRET, ENV_SECRET]) {
        expect(log, 'log').to.not.contain(secret);
        expect(stored, 'outbox').to.not.contain(secret);
        expect(dead, 'dead letters').to.not.contain(secret);
      }
      for (const secret of [SMTP_PASSWORD, INLINE_SECRET, ENV_SECRET])
        expect(db, 'database file').to.not.contain(secret);
      expect(log).to.not.contain(URL_PASSWORD).and.contain('refused');
    } finally {
      await fx.cleanup();
      await http.close();
    }
  });
});
