import { expect } from 'chai';
import { tailLines, runForMessage, type Notification } from '../../../src/notify/message.js';
import { emailHtml, emailSubject, emailText, slackText, webhookBody } from '../../../src/notify/render.js';
import { job, run } from './fixtures.js';

const CTX = { apiBaseUrl: 'http://127.0.0.1:8080/' };

function note(fields: Partial<Notification> = {}): Notification {
  const j = job();
  return {
    event: 'failure',
    job: { name: j.name, description: j.description, command: j.command, tags: j.tags },
    run: runForMessage(run('failed', { id: '01RUNX', stderr: 'boom <b>&\n' })),
    ...fields,
  };
}

describe('notify rendering', () => {
  it('keeps the last 50 lines of output', () => {
    const text = Array.from({ length: 120 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
    const tail = tailLines(text).split('\n');
    expect(tail).to.have.length(50);
    expect(tail[0]).to.equal('line 71');
    expect(tail[49]).to.equal('line 120');
    expect(tailLines('')).to.equal('');
  });

  it('names job, node and outcome in the subject', () => {
    expect(emailSubject(note())).to.equal('[distcron] FAILED backup on db1 (exit 2)');
    const killed = note({ run: run('failed', { exit_code: null, signal: 'SIGKILL' }) });
    expect(emailSubject(killed)).to.equal('[distcron] FAILED backup on db1 (signal SIGKILL)');
    expect(emailSubject(note({ event: 'recovery', run: run('succeeded') }))).to.equal(
      '[distcron] RECOVERED backup on db1',
    );
    expect(emailSubject(note({ run: run('timed_out') }))).to.match(/^\[distcron\] TIMED OUT backup on db1/);
  });

  it('escapes output in the HTML body and keeps it verbatim in the text body', () => {
    expect(emailHtml(note(), CTX)).to.contain('boom &lt;b&gt;&amp;').and.not.contain('boom <b>');
    expect(emailText(note(), CTX)).to.contain('boom <b>&');
  });

  it('links the run through the API without a double slash', () => {
    expect(emailText(note(), CTX)).to.contain('http://127.0.0.1:8080/api/v1/runs/01RUNX');
  });

  it('says so in the message that the flood guard lets through last', () => {
    const n = note({ suppressedUntil: '2026-11-26T10:00:00.000Z' });
    expect(emailText(n, CTX)).to.contain('further notifications are suppressed until then');
    expect(slackText(n, CTX)).to.contain('2026-11-26T10:00:00.000Z');
    expect(JSON.parse(webhookBody(n, 'json', CTX, 'k')).suppressed_until).to.equal(
      '2026-11-26T10:00:00.000Z',
    );
  });

  it('sends {event, job, run} as JSON and {text} for slack', () => {
    const json = JSON.parse(webhookBody(note(), 'json', CTX, 'failure:01RUNX:webhook:ab'));
    expect(json).to.include.keys('event', 'job', 'run', 'delivery');
    expect(json.run.id).to.equal('01RUNX');
    const slack = JSON.parse(webhookBody(note(), 'slack', CTX, 'k'));
    expect(Object.keys(slack)).to.deep.equal(['text']);
    expect(slack.text).to.contain('FAILED backup on db1');
  });
});
