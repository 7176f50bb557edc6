import { expect } from 'chai';
import {
  backoffMs,
  DEFAULT_RETRY,
  DeliveryError,
  onFailure,
  scrub,
} from '../../../src/notify/delivery-error.js';
import { classifySmtpError, messageIdFor, parseSmtpUrl } from '../../../src/notify/email.js';
import { classifyStatus, signature, webhookOrigin } from '../../../src/notify/webhook.js';

const POLICY = { baseMs: 1000, maxMs: 60_000, permanentAttempts: 3, maxAgeMs: 3_600_000 };

describe('notify delivery retries', () => {
  it('doubles the backoff per attempt with up to half of it random, capped', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, POLICY, () => 0))).to.deep.equal([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((n) => backoffMs(n, POLICY, () => 1))).to.deep.equal([1000, 2000, 4000, 8000]);
    expect(backoffMs(30, POLICY, () => 1)).to.equal(60_000);
    expect(backoffMs(1, DEFAULT_RETRY, () => 0.5)).to.equal(3750);
  });

  it('retries transient failures until the message is too old, then dead-letters it', () => {
    const transient = new DeliveryError('email: down', false);
    expect(onFailure(transient, 50, 3_599_999, 10, POLICY, () => 0)).to.deep.equal({
      action: 'retry',
      at: 30_010,
    });
    const verdict = onFailure(transient, 51, 3_600_000, 10, POLICY);
    expect(verdict).to.deep.include({ action: 'dead_letter' });
  });

  it('dead-letters permanent failures after the bounded number of attempts', () => {
    const permanent = new DeliveryError('webhook: HTTP 404', true);
    expect(onFailure(permanent, 2, 0, 0, POLICY).action).to.equal('retry');
    expect(onFailure(permanent, 3, 0, 0, POLICY)).to.deep.equal({
      action: 'dead_letter',
      reason: 'permanent failure after 3 attempts: webhook: HTTP 404',
    });
  });

  it('scrubs known secrets from error text', () => {
    expect(scrub('login hunter2 failed for hunter2', ['hunter2'])).to.equal(
      'login [redacted] failed for [redacted]',
    );
  });
});

describe('notify webhook classification', () => {
  it('treats 2xx as success, 408/429/5xx as transient and other 4xx and 3xx as permanent', () => {
    expect(classifyStatus(204, null, 'http://h')).to.equal(null);
    for (const s of [408, 429, 500, 503])
      expect(classifyStatus(s, null, 'http://h')!.permanent, String(s)).to.equal(false);
    for (const s of [400, 401, 404, 410])
      expect(classifyStatus(s, null, 'http://h')!.permanent, String(s)).to.equal(true);
    const redirect = classifyStatus(308, '/new/path?token=x', 'http://h:1')!;
    expect(redirect.permanent).to.equal(true);
    expect(redirect.message).to.contain('redirecting to http://h:1').and.not.contain('token');
  });

  it('signs with HMAC-SHA256 over the body bytes and logs only the origin', () => {
    expect(signature('key', 'The quick brown fox jumps over the lazy dog')).to.equal(
      'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    );
    expect(webhookOrigin('https://u:p@hooks.example.com/services/T/B/X?a=1')).to.equal(
      'https://hooks.example.com',
    );
  });
});

describe('notify SMTP settings', () => {
  it('parses smtp and smtps URLs with credentials and default ports', () => {
    expect(parseSmtpUrl('smtp://mail.example.com')).to.deep.equal({
      secure: false,
      host: 'mail.example.com',
      port: 587,
    });
    expect(parseSmtpUrl('smtps://u%40x:p%3Aw@127.0.0.1:2465')).to.deep.equal({
      secure: true,
      host: '127.0.0.1',
      port: 2465,
      user: 'u@x',
      password: 'p:w',
    });
    expect(() => parseSmtpUrl('http://x')).to.throw(
      /^notify: --smtp-url must start with smtp:\/\/ or smtps:\/\//,
    );
  });

  it('classifies 5xx replies as permanent and connection or login trouble as transient', () => {
    expect(
      classifySmtpError({ code: 'EENVELOPE', responseCode: 550, message: 'no such user' }).permanent,
    ).to.equal(true);
    expect(
      classifySmtpError({ code: 'EENVELOPE', responseCode: 451, message: 'try later' }).permanent,
    ).to.equal(false);
    expect(classifySmtpError({ code: 'ECONNECTION', message: 'refused' }).permanent).to.equal(false);
    expect(classifySmtpError({ code: 'EAUTH', responseCode: 535, message: 'bad login' }).permanent).to.equal(
      false,
    );
  });

  it('derives a valid, stable Message-ID from the delivery key', () => {
    const id = messageIdFor('failure:01RUN:email:ops@example.com');
    expect(id).to.match(/^<[0-9a-f]{40}@distcron>$/);
    expect(messageIdFor('failure:01RUN:email:ops@example.com')).to.equal(id);
  });
});
