/**
 * Benchmark child: the real daemon (config from the fixture's jobs.d / nodes.d, runs in its SQLite
 * file) with its REST API on a random loopback port. Prints {"url": ...} on stdout when ready.
 */
import { startApiServer } from '../../src/api/server.js';
import { silentLogger } from '../../src/core/log.js';
import { startDaemon } from '../../src/daemon/daemon.js';

const [jobsDir, nodesDir, dbPath] = process.argv.slice(2) as [string, string, string];
const started = Date.now();
const daemon = await startDaemon(
  { jobsDir, nodesDir, dbPath, listen: '127.0.0.1:0', timezone: 'UTC', retentionMs: 100 * 365 * 86_400_000 },
  { logger: silentLogger() },
);
// Until the daemon serves its own API, start it on the daemon's control object, as the daemon does.
const api = daemon.apiUrl
  ? null
  : await startApiServer(daemon.control, { host: '127.0.0.1', port: 0, tokens: null });
const url = daemon.apiUrl ?? api!.url;
process.stdout.write(
  `${JSON.stringify({ url, startMs: Date.now() - started, jobs: daemon.control.listJobs().length })}\n`,
);

process.on('SIGTERM', () => {
  void (async () => {
    await api?.close();
    await daemon.close();
    process.exit(0);
  })();
});
