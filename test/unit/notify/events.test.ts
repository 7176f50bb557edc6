import { expect } from 'chai';
import {
  admit,
  decideReminder,
  decideRun,
  deliveryKey,
  emailRecipients,
  freshState,
  HOUR_MS,
  reminderDueAt,
  type Decision,
} from '../../../src/notify/events.js';
import type { RunStatus } from '../../../src/core/types.js';
import type { NotifyState } from '../../../src/store/store.js';
import { job, run, T0 } from './fixtures.js';

const OPTS = { floodPerHour: 20, email: true };

/** Feeds runs with the given statuses through decideRun, one minute apart, like the notifier. */
function feed(statuses: RunStatus[], snapshot = job(), start?: NotifyState) {
  let state = start;
  const decisions: Decision[] = [];
  statuses.forEach((status, i) => {
    const d = decideRun(state, run(status), snapshot, T0 + i * 60_000, OPTS);
    state = d.state;
    decisions.push(d);
  });
  return { state: state!, decisions, events: decisions.flatMap((d) => d.deliveries.map((x) => x.event)) };
}

describe('notify decision core', () => {
  it('sends one failure message for 100 failures in a row, not 100', () => {
    const { state, events } = feed(Array<RunStatus>(100).fill('failed'));
    expect(events).to.deep.equal(['failure']);
    expect(state.state).to.equal('failing');
  });

  it('treats timed_out, error and lost as failing, all within one failing streak', () => {
    const { events } = feed(['timed_out', 'error', 'lost', 'failed']);
    expect(events).to.deep.equal(['failure']);
  });

  it('sends a recovery on the first success after failing, and nothing on later successes', () => {
    const { state, events } = feed(['failed', 'failed', 'succeeded', 'succeeded']);
    expect(events).to.deep.equal(['failure', 'recovery']);
    expect(state.state).to.equal('ok');
  });

  it('notifies again when a recovered job fails again', () => {
    expect(feed(['failed', 'succeeded', 'failed']).events).to.deep.equal(['failure', 'recovery', 'failure']);
  });

  it('sends nothing for successes of a job that never failed unless success is opted in', () => {
    expect(feed(['succeeded', 'succeeded']).events).to.deep.equal([]);
    const optIn = job({ on: ['success', 'failure'] });
    expect(feed(['succeeded', 'succeeded'], optIn).events).to.deep.equal(['success', 'success']);
  });

  it('gives a success-only subscriber a success (not a recovery) on the recovering run', () => {
    const snapshot = job({
      on: ['failure', 'recovery'],
      webhooks: [{ url: 'http://127.0.0.1:1/s', on: ['success'], hasSecret: false, format: 'json' }],
    });
    const { decisions } = feed(['failed', 'succeeded'], snapshot);
    const last = decisions[1]!.deliveries.map((d) => [d.target.channel, d.event]);
    expect(last).to.deep.equal([
      ['email', 'recovery'],
      ['webhook', 'success'],
    ]);
  });

  it('sends missed for missed runs only when subscribed, without changing the state', () => {
    expect(feed(['missed']).events).to.deep.equal([]);
    const { state, events } = feed(['failed', 'missed'], job({ on: ['failure', 'missed'] }));
    expect(events).to.deep.equal(['failure', 'missed']);
    expect(state.state).to.equal('failing');
  });

  it('sends nothing for cancelled and skipped runs and keeps the state', () => {
    const { state, events } = feed(['failed', 'cancelled', 'skipped', 'failed']);
    expect(events).to.deep.equal(['failure']);
    expect(state.state).to.equal('failing');
  });

  it('records the run finish time as the start of the failing state', () => {
    const r = run('failed', { finished_at: '2026-11-26T10:00:00.000Z' });
    const d = decideRun(undefined, r, job(), T0 + HOUR_MS * 5, OPTS);
    expect(d.state.since).to.equal(Date.parse('2026-11-26T10:00:00.000Z'));
  });

  it('routes each webhook by its own on list and falls back to the job on list', () => {
    const snapshot = job({
      on: ['failure', 'recovery'],
      webhooks: [
        { url: 'http://127.0.0.1:1/a', on: ['recovery'], hasSecret: false, format: 'json' },
        { url: 'http://127.0.0.1:1/b', hasSecret: false, format: 'slack' },
      ],
    });
    const d = decideRun(undefined, run('failed'), snapshot, T0, OPTS);
    const targets = d.deliveries.map((x) =>
      x.target.channel === 'email' ? x.target.to : x.target.webhook.url,
    );
    expect(targets).to.deep.equal(['ops@example.com', 'http://127.0.0.1:1/b']);
  });

  it('mails owners and notify.email once each and leaves e-mail out without SMTP', () => {
    const snapshot = job({ email: ['dba@example.com', 'OPS@example.com'] });
    expect(emailRecipients(snapshot)).to.deep.equal(['ops@example.com', 'dba@example.com']);
    const d = decideRun(undefined, run('failed'), snapshot, T0, { ...OPTS, email: false });
    expect(d.deliveries).to.deep.equal([]);
    expect(d.state.state).to.equal('failing');
  });

  it('moves the state of a job whose definition is gone but sends nothing', () => {
    const d = decideRun(undefined, run('lost'), null, T0, OPTS);
    expect(d.state.state).to.equal('failing');
    expect(d.deliveries).to.deep.equal([]);
  });
});

describe('notify flood guard', () => {
  it('lets N notifications per hour through, marks the N-th as last and drops the rest', () => {
    const snapshot = job({ on: ['success'] });
    let state: NotifyState | undefined;
    const verdicts: string[] = [];
    for (let i = 0; i < 25; i++) {
      const d = decideRun(state, run('succeeded'), snapshot, T0 + i * 1000, { ...OPTS, floodPerHour: 20 });
      state = d.state;
      verdicts.push(d.flood!.allowed ? (d.flood!.last ? 'last' : 'ok') : 'dropped');
    }
    expect(verdicts.filter((v) => v === 'ok')).to.have.length(19);
    expect(verdicts[19]).to.equal('last');
    expect(verdicts.slice(20)).to.deep.equal(Array(5).fill('dropped'));
  });

  it('opens a new window an hour after the first message of the previous one', () => {
    let s = freshState('backup', T0);
    for (let i = 0; i < 3; i++) s = admit(s, T0 + i, 3).state;
    expect(admit(s, T0 + HOUR_MS - 1, 3).verdict.allowed).to.equal(false);
    const later = admit(s, T0 + HOUR_MS, 3);
    expect(later.verdict).to.deep.include({ allowed: true, last: false });
    expect(later.state.floodCount).to.equal(1);
  });

  it('does not count runs that send nothing', () => {
    const { state } = feed(Array<RunStatus>(30).fill('failed'));
    expect(state.floodCount).to.equal(1);
  });

  it('has no limit when floodPerHour is 0', () => {
    let s = freshState('backup', T0);
    for (let i = 0; i < 100; i++) s = admit(s, T0, 0).state;
    expect(admit(s, T0, 0).verdict).to.deep.include({ allowed: true, last: false });
  });
});

describe('notify reminders', () => {
  const DAY = 24 * HOUR_MS;
  const failing = (): NotifyState => ({ ...freshState('backup', T0), state: 'failing', since: T0 });

  it('is due remindEvery after the failure and then after each reminder', () => {
    expect(reminderDueAt(failing(), DAY)).to.equal(T0 + DAY);
    expect(reminderDueAt({ ...failing(), lastReminderAt: T0 + DAY + 5 }, DAY)).to.equal(T0 + 2 * DAY + 5);
    expect(reminderDueAt(freshState('backup', T0), DAY)).to.equal(null);
    expect(reminderDueAt(failing(), 0)).to.equal(null);
  });

  it('sends still_failing to failure subscribers when due and records the reminder', () => {
    const opts = { ...OPTS, remindEveryMs: DAY };
    expect(decideReminder(failing(), job(), T0 + DAY - 1, opts)).to.equal(null);
    const d = decideReminder(failing(), job(), T0 + DAY + 7, opts)!;
    expect(d.deliveries.map((x) => x.event)).to.deep.equal(['still_failing']);
    expect(d.state.lastReminderAt).to.equal(T0 + DAY + 7);
    expect(d.dueAt).to.equal(T0 + DAY);
  });

  it('uses the job remindEveryMs over the daemon default, 0 meaning never', () => {
    const opts = { ...OPTS, remindEveryMs: DAY };
    expect(decideReminder(failing(), job({ remindEveryMs: HOUR_MS }), T0 + HOUR_MS, opts)).to.not.equal(null);
    expect(decideReminder(failing(), job({ remindEveryMs: 0 }), T0 + 10 * DAY, opts)).to.equal(null);
  });

  it('skips targets subscribed to neither failure nor still_failing', () => {
    const d = decideReminder(failing(), job({ on: ['recovery'] }), T0 + DAY, {
      ...OPTS,
      remindEveryMs: DAY,
    })!;
    expect(d.deliveries).to.deep.equal([]);
  });
});

describe('notify delivery keys', () => {
  it('are deterministic per event, run and target and hide webhook URLs', () => {
    const hook = {
      url: 'https://hooks.example.com/T0/B0/SECRETPATH',
      hasSecret: false,
      format: 'slack' as const,
    };
    const email = deliveryKey('01RUN', {
      event: 'failure',
      target: { channel: 'email', to: 'Ops@Example.com' },
    });
    const web = deliveryKey('01RUN', { event: 'failure', target: { channel: 'webhook', webhook: hook } });
    expect(email).to.equal('failure:01RUN:email:ops@example.com');
    expect(web).to.match(/^failure:01RUN:webhook:[0-9a-f]{16}$/);
    expect(web).to.equal(
      deliveryKey('01RUN', { event: 'failure', target: { channel: 'webhook', webhook: hook } }),
    );
  });
});
