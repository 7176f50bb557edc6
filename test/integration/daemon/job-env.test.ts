import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { DaemonProcess, readRuns, waitFor } from '../../harness/daemon-process.js';
import { ES_TEST_VERSIONS, type EsTestServer } from '../../harness/elasticsearch.js';
import { TestSmtpServer } from '../../harness/smtp.js';
import { esOrSkip } from '../report/fixtures.js';

const SECRET = 'daemon-only-secret-7f3a9c';

describe("daemon process: a job never sees the daemon's environment", function () {
  this.timeout(300_000);
  let es: EsTestServer;
  let smtp: TestSmtpServer;
  let env: DaemonEnv;
  let daemon: DaemonProcess | null = null;

  before(async function () {
    es = await esOrSkip(this, 'job environment', ES_TEST_VERSIONS.v9);
    smtp = await TestSmtpServer.start();
    env = new DaemonEnv();
  });
  after(async () => {
    if (daemon && daemon.child.exitCode === null) {
      daemon.kill('SIGTERM');
      await daemon.exited;
    }
    await smtp?.stop();
    await env?.cleanup();
  });

  it('keeps a secret of the daemon out of stdout, SQLite, the Elasticsearch document and the mail', async () => {
    env.writeNode('local', { roles: ['local'], connection_type: 'local' });
    env.writeJob('leaky', {
      owners: [{ name: 'Ops', email_address: 'ops@example.com' }],
      policy: { select: 'any', roles: ['local'] },
      schedule: '* * * * * *',
      shell_command: 'env; env >&2; exit 3',
      environment: { FROM_JOB: 'job-value' },
    });
    daemon = new DaemonProcess(
      [
        ...['--jobs-dir', env.jobsDir, '--nodes-dir', env.nodesDir, '--db', env.dbPath],
        ...['--listen', 'off', '--timezone', 'UTC', '--es-url', es.url],
        ...['--smtp-url', smtp.url, '--smtp-tls-insecure', 'true', '--mail-from', 'distcron@example.com'],
        ...['--env-passthrough', 'OPTED_IN'],
      ],
      { AWS_SECRET_ACCESS_KEY: SECRET, DISTCRON_SMTP_PASSWORD_HINT: SECRET, OPTED_IN: 'opted-in-value' },
    );
    // A `missed` row (instants during start-up) has no start: wait for a run that executed.
    const run = await waitFor('a finished run', () =>
      readRuns(env.dbPath, 'leaky').find((r) => r.finished_at && r.started_at),
    );
    // Delivery to Elasticsearch and SMTP happens while the daemon runs; SQLite is read after it stopped.
    const month = run.started_at!.slice(0, 7).replace('-', '.');
    const doc = await waitForDoc(es.url, `distcron-runs-${month}`, run.id);
    const [mail] = await smtp.waitForMessages(1, 60_000);
    daemon.kill('SIGTERM');
    await daemon.exited;

    expect(run.status).to.equal('failed');
    // The command did print its environment: the job's own variable, the run variables, the opt-in.
    expect(run.stdout).to.include('FROM_JOB=job-value');
    expect(run.stdout).to.include(`DISTCRON_RUN_ID=${run.id}`);
    expect(run.stdout).to.include('OPTED_IN=opted-in-value');
    expect(run.stdout).to.match(/^PATH=/m);
    expect(run.stdout).not.to.include(SECRET);
    expect(run.stderr).not.to.include(SECRET);

    const db = readFileSync(env.dbPath).toString('latin1') + readWal(env.dbPath);
    expect(db).to.include('FROM_JOB=job-value');
    expect(db).not.to.include(SECRET);

    expect(doc).to.include('FROM_JOB=job-value');
    expect(doc).not.to.include(SECRET);

    const raw = `${mail!.parsed.subject ?? ''}\n${mail!.parsed.text ?? ''}\n${String(mail!.parsed.html)}`;
    expect(raw).to.include('leaky');
    expect(raw).to.include('DISTCRON_JOB=leaky');
    expect(raw).not.to.include(SECRET);
  });
});

function readWal(dbPath: string): string {
  try {
    return readFileSync(`${dbPath}-wal`).toString('latin1');
  } catch {
    return '';
  }
}

/** The stored document's JSON text. */
async function waitForDoc(esUrl: string, index: string, id: string): Promise<string> {
  const until = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${esUrl}/${index}/_doc/${id}`);
    if (res.ok) return await res.text();
    if (Date.now() > until) throw new Error(`document ${id} not in ${index} after 60 s (HTTP ${res.status})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
