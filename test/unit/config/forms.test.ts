import { expect } from 'chai';
import { parseJobText, parseNodeText } from '../../../src/config/index.js';
import type { JobDef } from '../../../src/core/types.js';

const OPTS = { defaultTimezone: 'Europe/Berlin' };

function mustParseJob(text: string, file = 'jobs.d/example.json'): JobDef {
  const { job, problems } = parseJobText(file, text, OPTS);
  expect(problems).to.deep.equal([]);
  return job!;
}

describe('config: job definitions that load', () => {
  it('reads the distcrond README form (string hosts, interval schedule) into typed values', () => {
    const job = mustParseJob(
      JSON.stringify({
        description: 'do Foo',
        owners: [{ name: 'Martin', email_address: 'martin@example.com' }],
        environment: { FOO: 'bar' },
        policy: { hosts: 'any', roles: ['web', 'db'] },
        schedule: { interval: '10s', reference: '03:10' },
        shell_command: 'echo $FOO',
      }),
    );
    expect(job).to.deep.equal({
      name: 'example',
      file: 'jobs.d/example.json',
      description: 'do Foo',
      owners: [{ name: 'Martin', email: 'martin@example.com' }],
      policy: {
        select: 'any',
        roles: ['web', 'db'],
        rolesMatch: 'any',
        labels: {},
        placement: 'least_loaded',
      },
      schedule: { kind: 'interval', intervalMs: 10_000, reference: '03:10', timezone: 'UTC' },
      command: { kind: 'shell', script: 'echo $FOO' },
      environment: { FOO: 'bar' },
      parameters: {},
      retries: { count: 0, delayMs: 0 },
      overlap: 'skip',
      catchUp: 'latest',
      notify: { on: ['failure', 'recovery'], email: [], webhooks: [] },
      tags: [],
      enabled: true,
    });
  });

  it('reads the distcrond code form (select + host list, 6-field cron, argv) into typed values', () => {
    const job = mustParseJob(
      '{"policy": {"select": "all", "hosts": ["db1", "db2"]}, "schedule": "0 */5 * * * *",\n' +
        ' "command": ["/usr/bin/echo", "Test"], "environment": {"A_B": "1"}}',
    );
    expect(job.policy).to.deep.equal({
      select: 'all',
      hosts: ['db1', 'db2'],
      rolesMatch: 'any',
      labels: {},
      placement: 'least_loaded',
    });
    expect(job.schedule).to.deep.equal({ kind: 'cron', expression: '0 */5 * * * *' });
    expect(job.command).to.deep.equal({ kind: 'argv', argv: ['/usr/bin/echo', 'Test'] });
    expect(job.environment).to.deep.equal({ A_B: '1' });
    expect(job.notify.on, 'no owner, no recipient: nothing to notify').to.deep.equal([]);
  });

  it('reads rerun_lost: true opts a job in; false or absent leaves it out (lost runs are not re-run)', () => {
    const command = '"policy": {"hosts": ["db1"]}, "command": ["/bin/true"]';
    expect(mustParseJob(`{${command}, "rerun_lost": true}`).rerunLost).to.equal(true);
    expect(mustParseJob(`{${command}, "rerun_lost": false}`)).to.not.have.property('rerunLost');
    expect(mustParseJob(`{${command}}`)).to.not.have.property('rerunLost');
  });

  it('reads every field of the SPEC §4 example', () => {
    const job = mustParseJob(`{
      "description": "Nightly database dump",
      "owners": [{"name": "Ops", "email_address": "ops@example.com"}],
      "policy": {"select": "any", "roles": ["db"], "placement": "round_robin", "labels": {"dc": "fra"}, "roles_match": "all"},
      "schedule": {"cron": "30 2 * * *", "timezone": "Europe/Berlin"},
      "command": ["/usr/local/bin/dump", "--all"],
      "working_directory": "/var/backups",
      "timeout": "30m",
      "retries": {"count": 2, "delay": "1m"},
      "overlap": "queue",
      "catch_up": "all",
      "notify": {"on": ["failure", "recovery", "missed"], "email": ["dba@example.com"], "remind_every": "12h",
                 "webhooks": [{"url": "https://hooks.example.com/x", "on": ["failure"], "secret_env": "HOOK_SECRET", "format": "slack"}]},
      "tags": ["backup"],
      "enabled": false
    }`);
    expect(job).to.deep.include({
      description: 'Nightly database dump',
      schedule: { kind: 'cron', expression: '30 2 * * *', timezone: 'Europe/Berlin' },
      workingDirectory: '/var/backups',
      timeoutMs: 1_800_000,
      retries: { count: 2, delayMs: 60_000 },
      overlap: 'queue',
      catchUp: 'all',
      tags: ['backup'],
      enabled: false,
    });
    expect(job.policy).to.deep.equal({
      select: 'any',
      roles: ['db'],
      rolesMatch: 'all',
      labels: { dc: 'fra' },
      placement: 'round_robin',
    });
    expect(job.notify).to.deep.equal({
      on: ['failure', 'recovery', 'missed'],
      email: ['dba@example.com'],
      remindEveryMs: 43_200_000,
      webhooks: [
        { url: 'https://hooks.example.com/x', on: ['failure'], secretEnv: 'HOOK_SECRET', format: 'slack' },
      ],
    });
  });

  it('reads every schedule form', () => {
    const scheduleOf = (schedule: unknown) =>
      mustParseJob(JSON.stringify({ policy: { hosts: ['a'] }, command: ['x'], schedule })).schedule;
    expect(scheduleOf(undefined)).to.deep.equal({ kind: 'manual' });
    expect(scheduleOf('@manual')).to.deep.equal({ kind: 'manual' });
    expect(scheduleOf('@daily')).to.deep.equal({ kind: 'cron', expression: '@daily' });
    expect(scheduleOf('@every 10m')).to.deep.equal({ kind: 'every', intervalMs: 600_000 });
    expect(scheduleOf('H H(1-5) * * *')).to.deep.equal({ kind: 'cron', expression: 'H H(1-5) * * *' });
    expect(scheduleOf({ interval: '1h30m' })).to.deep.equal({
      kind: 'interval',
      intervalMs: 5_400_000,
      reference: '00:00',
      timezone: 'UTC',
    });
    expect(scheduleOf({ interval: '1h', reference: '00:15', timezone: 'Asia/Tokyo' })).to.deep.equal({
      kind: 'interval',
      intervalMs: 3_600_000,
      reference: '00:15',
      timezone: 'Asia/Tokyo',
    });
    expect(scheduleOf({ fuzzy: 'daily', window: '01:00-05:00', timezone: 'UTC' })).to.deep.equal({
      kind: 'fuzzy',
      period: 'daily',
      window: { start: '01:00', end: '05:00' },
      timezone: 'UTC',
    });
    expect(scheduleOf({ fuzzy: '6h' })).to.deep.equal({ kind: 'fuzzy', period: { everyMs: 21_600_000 } });
    expect(scheduleOf({ at: '2026-12-01T10:00:00Z' })).to.deep.equal({
      kind: 'at',
      at: Date.UTC(2026, 11, 1, 10),
    });
  });

  it('defaults notify.on to failure and recovery when anyone is to be told', () => {
    const withEmail = mustParseJob(
      '{"policy": {"hosts": ["a"]}, "command": ["x"], "notify": {"email": ["a@b.example"]}}',
    );
    expect(withEmail.notify.on).to.deep.equal(['failure', 'recovery']);
    const explicit = mustParseJob(
      '{"policy": {"hosts": ["a"]}, "command": ["x"], "owners": [{"email_address": "a@b.example"}], "notify": {"on": []}}',
    );
    expect(explicit.notify.on).to.deep.equal([]);
  });

  it('loads a job with a warning, and says where', () => {
    const text =
      '{"name": "y", "policy": {"select": "all", "roles": ["db"], "placement": "random"}, "command": ["x"]}';
    const { job, problems } = parseJobText('jobs.d/x.json', text, OPTS);
    expect(job?.name).to.equal('x');
    expect(problems.map((p) => [p.severity, p.path, p.column])).to.deep.equal([
      ['warning', '$.name', text.indexOf('"y"') + 1],
      ['warning', '$.policy.placement', text.indexOf('"random"') + 1],
    ]);
  });

  it('tolerates a byte-order mark', () => {
    const { job } = parseJobText(
      'jobs.d/bom.json',
      '\ufeff{"policy": {"hosts": ["a"]}, "command": ["x"]}',
      OPTS,
    );
    expect(job?.name).to.equal('bom');
  });

  it('rejects 100,000 levels of nesting without overflowing the stack', () => {
    const text = '['.repeat(100_000) + ']'.repeat(100_000);
    const { job, problems } = parseJobText('jobs.d/deep.json', text, OPTS);
    expect(job).to.equal(undefined);
    expect(problems).to.have.length(1);
    expect(problems[0]).to.deep.include({ line: 1, column: 65, path: '$' });
    expect(problems[0]!.message).to.contain('nested deeper than 64 levels');
  });

  it('never echoes a webhook secret in a problem', () => {
    const { problems } = parseJobText(
      'jobs.d/s.json',
      '{"policy": {"hosts": ["a"]}, "command": ["x"], "notify": {"webhooks": [{"url": "https://h.example", "secret": 918273645}]}}',
      OPTS,
    );
    expect(problems).to.have.length(1);
    expect(JSON.stringify(problems)).to.not.contain('918273645');
  });
});

describe('config: node definitions that load', () => {
  it('reads the SPEC §3 example with every extension', () => {
    const { node, problems } = parseNodeText(
      'nodes.d/db1.json',
      JSON.stringify({
        roles: ['web', 'db'],
        connection_type: 'ssh',
        connection_options: {
          ssh_host: '10.0.0.5:2222',
          ssh_user: 'deploy',
          ssh_private_key_file: '/etc/distcron/keys/id_ed25519',
          ssh_private_key_passphrase_env: 'DB1_PASS',
          ssh_agent: true,
          ssh_host_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
          ssh_jump: 'bastion',
        },
        max_concurrent_runs: 4,
        labels: { dc: 'fra' },
        disabled: true,
        description: 'primary',
      }),
    );
    expect(problems).to.deep.equal([]);
    expect(node).to.deep.equal({
      name: 'db1',
      file: 'nodes.d/db1.json',
      roles: ['web', 'db'],
      labels: { dc: 'fra' },
      connection: {
        type: 'ssh',
        host: '10.0.0.5',
        port: 2222,
        user: 'deploy',
        agent: true,
        privateKeyFile: '/etc/distcron/keys/id_ed25519',
        passphraseEnv: 'DB1_PASS',
        hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
        jump: 'bastion',
      },
      maxConcurrentRuns: 4,
      disabled: true,
      description: 'primary',
    });
  });

  it('reads a local node with defaults', () => {
    const { node } = parseNodeText('nodes.d/local.json', '{"connection_type": "local"}');
    expect(node).to.deep.equal({
      name: 'local',
      file: 'nodes.d/local.json',
      roles: [],
      labels: {},
      connection: { type: 'local' },
      maxConcurrentRuns: 8,
      disabled: false,
    });
  });

  it('reads every ssh_host form', () => {
    const address = (sshHost: string) => {
      const { node, problems } = parseNodeText(
        'nodes.d/n.json',
        JSON.stringify({
          connection_type: 'ssh',
          connection_options: { ssh_host: sshHost, ssh_user: 'u', ssh_agent: true },
        }),
      );
      expect(problems).to.deep.equal([]);
      const c = node!.connection;
      return c.type === 'ssh' ? [c.host, c.port] : [];
    };
    expect(address('db1.example.com')).to.deep.equal(['db1.example.com', 22]);
    expect(address('127.0.0.2:2201')).to.deep.equal(['127.0.0.2', 2201]);
    expect(address('[::1]:2222')).to.deep.equal(['::1', 2222]);
    expect(address('[fe80::1%eth0]')).to.deep.equal(['fe80::1%eth0', 22]);
    expect(address('2001:db8::5')).to.deep.equal(['2001:db8::5', 22]);
  });
});
