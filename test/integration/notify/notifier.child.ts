/**
 * Child process of crash.test.ts: a Notifier over the shared SQLite file, the way the daemon
 * will run it, until it is killed. Config comes as one JSON argument; prints "ready" once started.
 */
import type { JobDef } from '../../../src/core/types.js';
import { Notifier } from '../../../src/notify/notifier.js';
import { openSqliteStore } from '../../../src/store/sqlite.js';
import { SqliteAsyncStore } from '../../../src/store/sqlite-async.js';
import { FAST_RETRY } from './fixture.js';

const config = JSON.parse(process.argv[2] ?? '{}') as { dbPath: string; smtpUrl: string; jobs: JobDef[] };
const jobs = new Map(config.jobs.map((j) => [j.name, j]));
const store = openSqliteStore({ path: config.dbPath, busyTimeoutMs: 10_000 });
const notifier = new Notifier({
  store: new SqliteAsyncStore(store),
  apiBaseUrl: 'http://127.0.0.1:8080',
  smtp: { url: config.smtpUrl, from: 'distcron@example.com', tlsInsecure: true },
  pollMs: 50,
  retry: FAST_RETRY,
  jobs: (name) => jobs.get(name),
});
notifier.start();
process.stdout.write('ready\n');
