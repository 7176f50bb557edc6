import { expect } from 'chai';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { HttpReceiver, type ReceivedRequest } from '../../harness/http-receiver.js';
import { notifyJob, NotifyFixture } from './fixture.js';

/** What a receiver does: recompute the HMAC over the exact body bytes and compare. */
function verifySignature(req: ReceivedRequest, secret: string): boolean {
  const header = String(req.headers['x-distcron-signature'] ?? '');
  const expected = `sha256=${createHmac('sha256', secret).update(req.body).digest('hex')}`;
  return header.length === expected.length && timingSafeEqual(Buffer.from(header), Buffer.from(expected));
}

describe('notifications by webhook (real HTTP receiver)', function () {
  this.timeout(30_000);
  let http: HttpReceiver;
  let fx: NotifyFixture;

  beforeEach(async () => {
    http = await HttpReceiver.start();
    fx = new NotifyFixture(undefined, {
      webhookTimeoutMs: 500,
      resolveSecretEnv: (name) => (name === 'HOOK_SECRET' ? 'env-secret-value' : undefined),
    });
  });
  afterEach(async () => {
    await fx.cleanup();
    await http.close();
  });

  it('POSTs {event, job, run} signed with the inline secret, and the receiver verifies the HMAC', async () => {
    const job = fx.addJob(
      notifyJob('backup', {
        webhooks: [{ url: http.url('/a?x=1'), secret: 'inline-s3cret', format: 'json' }],
      }),
    );
    fx.start();
    const run = fx.finish(job, { status: 'failed', exit_code: 4, stderr: 'disk full\n' });
    const [req] = await http.waitForRequests(1);
    expect(req!.method).to.equal('POST');
    expect(req!.path).to.equal('/a?x=1');
    expect(req!.headers['content-type']).to.equal('application/json');
    expect(verifySignature(req!, 'inline-s3cret')).to.equal(true);
    expect(verifySignature(req!, 'wrong')).to.equal(false);
    const body = JSON.parse(req!.body);
    expect(body.event).to.equal('failure');
    expect(body.job).to.deep.include({ name: 'backup', description: 'The backup job' });
    expect(body.run).to.deep.include({ id: run.id, status: 'failed', exit_code: 4, stderr: 'disk full' });
    expect(req!.headers['x-distcron-delivery'])
      .to.equal(body.delivery)
      .and.match(new RegExp(`^failure:${run.id}:webhook:`));
    expect(req!.headers['x-distcron-event']).to.equal('failure');
  });

  it('signs with the secret from secret_env and sends no signature without a secret', async () => {
    const job = fx.addJob(
      notifyJob('backup', {
        webhooks: [
          { url: http.url('/env'), secretEnv: 'HOOK_SECRET', format: 'json' },
          { url: http.url('/plain'), format: 'json' },
        ],
      }),
    );
    fx.start();
    fx.finish(job, { status: 'lost', exit_code: null });
    const reqs = await http.waitForRequests(2);
    const byPath = new Map(reqs.map((r) => [r.path, r]));
    expect(verifySignature(byPath.get('/env')!, 'env-secret-value')).to.equal(true);
    expect(byPath.get('/plain')!.headers).to.not.have.property('x-distcron-signature');
  });

  it('turns user:password in the webhook URL into a Basic Authorization header', async () => {
    const url = http.url('/auth').replace('http://', 'http://hook:p%40ss@');
    const job = fx.addJob(notifyJob('backup', { webhooks: [{ url, format: 'json' }] }));
    fx.start();
    fx.finish(job, { status: 'failed' });
    const [req] = await http.waitForRequests(1);
    expect(req!.headers.authorization).to.equal(`Basic ${Buffer.from('hook:p@ss').toString('base64')}`);
  });

  it('sends a slack-compatible {text} body when format is slack', async () => {
    const job = fx.addJob(notifyJob('backup', { webhooks: [{ url: http.url('/slack'), format: 'slack' }] }));
    fx.start();
    fx.finish(job, { status: 'failed', exit_code: 2, stderr: 'boom\n' });
    const [req] = await http.waitForRequests(1);
    const body = JSON.parse(req!.body);
    expect(Object.keys(body)).to.deep.equal(['text']);
    expect(body.text).to.contain('[distcron] FAILED backup on db1 (exit 2)').and.contain('boom');
  });

  it('routes each webhook by its own on list, without e-mail when no SMTP is set', async () => {
    const job = fx.addJob(
      notifyJob('backup', {
        on: ['failure', 'recovery'],
        webhooks: [
          { url: http.url('/failures'), on: ['failure'], format: 'json' },
          { url: http.url('/recoveries'), on: ['recovery'], format: 'json' },
        ],
      }),
    );
    fx.start();
    fx.finish(job, { status: 'failed' });
    fx.finish(job, { status: 'succeeded' });
    await http.waitForRequests(2);
    await fx.drained();
    expect(http.requests.map((r) => [r.path, JSON.parse(r.body).event]).sort()).to.deep.equal([
      ['/failures', 'failure'],
      ['/recoveries', 'recovery'],
    ]);
    expect(fx.log(), 'no SMTP: said once, and no e-mail was queued').to.contain(
      'e-mail notifications are off',
    );
    expect(fx.store.listDeadLetters()).to.deep.equal([]);
  });

  it('retries a webhook answering 500 and delivers it exactly once when it answers 200', async () => {
    const job = fx.addJob(notifyJob('backup', { webhooks: [{ url: http.url(), format: 'json' }] }));
    http.respond({ status: 500 }, { status: 503 }, { status: 429 });
    fx.start();
    fx.finish(job, { status: 'failed' });
    await http.waitForRequests(1, 10_000, (r) => r.status === 200);
    await fx.drained();
    await new Promise((r) => setTimeout(r, 300));
    expect(http.requests.map((r) => r.status)).to.deep.equal([500, 503, 429, 200]);
    expect(new Set(http.requests.map((r) => r.headers['x-distcron-delivery'])).size).to.equal(1);
    expect(fx.store.listDeadLetters()).to.deep.equal([]);
  });

  it('retries a webhook that does not answer within the timeout', async () => {
    const job = fx.addJob(notifyJob('backup', { webhooks: [{ url: http.url(), format: 'json' }] }));
    http.respond({ status: 200, delayMs: 1500 });
    fx.start();
    fx.finish(job, { status: 'failed' });
    await http.waitForRequests(2);
    await fx.drained();
    expect(fx.log()).to.contain('did not answer within 500 ms');
  });

  it('does not follow redirects and dead-letters the message with the new location', async () => {
    const job = fx.addJob(notifyJob('backup', { webhooks: [{ url: http.url('/old'), format: 'json' }] }));
    http.setFallback({ status: 301, headers: { location: 'https://elsewhere.example.com/new' } });
    fx.start();
    fx.finish(job, { status: 'failed' });
    await fx.drained();
    expect(http.requests.map((r) => r.path)).to.deep.equal(['/old', '/old']);
    const [dead] = fx.store.listDeadLetters('webhook');
    expect(dead?.reason).to.contain('answered 301 redirecting to https://elsewhere.example.com');
  });

  it('dead-letters a webhook answering 404 after a bounded number of attempts', async () => {
    const job = fx.addJob(notifyJob('backup', { webhooks: [{ url: http.url(), format: 'json' }] }));
    http.setFallback({ status: 404 });
    fx.start();
    fx.finish(job, { status: 'failed' });
    await fx.drained();
    expect(http.requests).to.have.length(2);
    expect(fx.store.listDeadLetters('webhook')[0]?.reason).to.match(
      /permanent failure after 2 attempts: .*HTTP 404/,
    );
  });
});
