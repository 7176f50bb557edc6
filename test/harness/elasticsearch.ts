/**
 * A real Elasticsearch server for the tests: Maven Central's integ-test-zip, fetched once with
 * Maven into a cache outside the repo, unzipped once, run with a Temurin JDK as a non-root user
 * (Elasticsearch refuses root), single-node, security off, 512 MB heap, loopback ports.
 *
 * Cache: $DISTCRON_CACHE, else /var/cache/distcron when root (the server user must read it;
 * /root is 0700), else ~/.cache/distcron. Versions: ES_TEST_VERSIONS below, overridable with
 * DISTCRON_ES_VERSION (9.x) and DISTCRON_ES8_VERSION.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from './ports.js';

/** 9.5.3 is the newest 9.x integ-test-zip found on Maven Central (9.5.5/9.5.6 are not there). */
export const ES_TEST_VERSIONS = {
  v9: process.env.DISTCRON_ES_VERSION ?? '9.5.3',
  v8: process.env.DISTCRON_ES8_VERSION ?? '8.19.21',
} as const;

export const ES_SERVER_USER = 'distcron-es';
const ARTIFACT = 'org.elasticsearch.distribution.integ-test-zip:elasticsearch';
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy';
const HEALTH_TIMEOUT_MS = Number(process.env.DISTCRON_ES_START_TIMEOUT_MS ?? 300_000);
const STOP_TIMEOUT_MS = 30_000;

export function esCacheDir(): string {
  if (process.env.DISTCRON_CACHE) return join(process.env.DISTCRON_CACHE, 'es');
  if (process.getuid?.() === 0) return '/var/cache/distcron/es';
  return join(homedir(), '.cache', 'distcron', 'es');
}

/** The newest Temurin JDK under /usr/lib/jvm (ES_JAVA_HOME wins when set). */
export function findJavaHome(): string | null {
  if (process.env.ES_JAVA_HOME && existsSync(join(process.env.ES_JAVA_HOME, 'bin', 'java')))
    return process.env.ES_JAVA_HOME;
  const jvmDir = '/usr/lib/jvm';
  if (!existsSync(jvmDir)) return null;
  const temurins = readdirSync(jvmDir)
    .filter((d) => d.startsWith('temurin-') && existsSync(join(jvmDir, d, 'bin', 'java')))
    .sort((a, b) => jdkMajor(b) - jdkMajor(a));
  return temurins.length > 0 ? join(jvmDir, temurins[0]!) : null;
}

function jdkMajor(dir: string): number {
  return Number(/temurin-(\d+)/.exec(dir)?.[1] ?? 0);
}

/** Fetches (Maven) and unzips the distribution once; returns its home directory. */
export function ensureEsDistribution(version: string): string {
  const cache = esCacheDir();
  const home = join(cache, `elasticsearch-${version}`);
  if (existsSync(join(home, 'bin', 'elasticsearch'))) return home;
  mkdirSync(cache, { recursive: true, mode: 0o755 });
  const zip = join(cache, `elasticsearch-${version}.zip`);
  if (!existsSync(zip)) fetchZip(version, cache);
  const staging = mkdtempSync(join(cache, '.unzip-'));
  execFileSync('unzip', ['-q', zip, '-d', staging], { stdio: 'pipe' });
  try {
    renameSync(join(staging, `elasticsearch-${version}`), home);
  } catch (err) {
    // Another process unzipped it first: fine.
    if (!existsSync(join(home, 'bin', 'elasticsearch'))) throw err;
  }
  rmSync(staging, { recursive: true, force: true });
  chmodSync(cache, 0o755);
  return home;
}

function fetchZip(version: string, cache: string): void {
  const staging = mkdtempSync(join(cache, '.fetch-'));
  try {
    execFileSync(
      'mvn',
      [
        '-B',
        '-q',
        DEPENDENCY_PLUGIN,
        `-Dartifact=${ARTIFACT}:${version}:zip`,
        `-DoutputDirectory=${staging}`,
      ],
      { stdio: 'pipe', timeout: 15 * 60_000 },
    );
    renameSync(join(staging, `elasticsearch-${version}.zip`), join(cache, `elasticsearch-${version}.zip`));
  } catch (err) {
    const out = (err as { stdout?: Buffer }).stdout?.toString() ?? '';
    const hint = /ERROR.*/.exec(out)?.[0] ?? (err as Error).message;
    throw new Error(`elasticsearch harness: mvn could not fetch ${ARTIFACT}:${version}:zip: ${hint}`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function ensureServerUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  if (!userExists(ES_SERVER_USER))
    execFileSync('/usr/sbin/useradd', ['--system', '-M', '-s', '/usr/sbin/nologin', ES_SERVER_USER]);
  const uid = Number(execFileSync('/usr/bin/id', ['-u', ES_SERVER_USER]).toString().trim());
  const gid = Number(execFileSync('/usr/bin/id', ['-g', ES_SERVER_USER]).toString().trim());
  return { uid, gid };
}

function userExists(name: string): boolean {
  try {
    execFileSync('/usr/bin/id', ['-u', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function serverConfig(dir: string, httpPort: number, transportPort: number): string {
  return [
    'cluster.name: distcron-test',
    'node.name: n1',
    `path.data: ${join(dir, 'data')}`,
    `path.logs: ${join(dir, 'logs')}`,
    'network.host: 127.0.0.1',
    `http.port: ${httpPort}`,
    `transport.port: ${transportPort}`,
    'discovery.type: single-node',
    'xpack.security.enabled: false',
    'cluster.routing.allocation.disk.threshold_enabled: false',
    'action.destructive_requires_name: false',
    '',
  ].join('\n');
}

const live = new Set<EsTestServer>();
process.on('exit', () => {
  for (const server of live) server.killSync();
});

export interface EsTestServerOptions {
  version?: string;
  heapMb?: number;
}

/** One Elasticsearch process on a per-run data directory; can stop and restart on it. */
export class EsTestServer {
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly version: string,
    readonly home: string,
    readonly dir: string,
    readonly port: number,
    private readonly javaHome: string,
    private readonly heapMb: number,
    private readonly owner: { uid: number; gid: number } | null,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Fetches if needed, then starts and waits for health. Throws with a reason when it cannot. */
  static async launch(options: EsTestServerOptions = {}): Promise<EsTestServer> {
    const version = options.version ?? ES_TEST_VERSIONS.v9;
    const javaHome = findJavaHome();
    if (!javaHome)
      throw new Error('elasticsearch harness: no Temurin JDK under /usr/lib/jvm (set ES_JAVA_HOME)');
    const home = ensureEsDistribution(version);
    const owner = ensureServerUser();
    const dir = mkdtempSync(join(tmpdir(), `distcron-es-${version}-`));
    const port = await freePort();
    const server = new EsTestServer(version, home, dir, port, javaHome, options.heapMb ?? 512, owner);
    server.prepareDir(await freePort());
    live.add(server);
    await server.start();
    return server;
  }

  private prepareDir(transportPort: number): void {
    for (const sub of ['config', 'data', 'logs', 'tmp']) mkdirSync(join(this.dir, sub), { recursive: true });
    cpSync(join(this.home, 'config'), join(this.dir, 'config'), { recursive: true });
    writeFileSync(
      join(this.dir, 'config', 'elasticsearch.yml'),
      serverConfig(this.dir, this.port, transportPort),
    );
    chmodSync(this.dir, 0o755);
    if (this.owner) execFileSync('/bin/chown', ['-R', `${this.owner.uid}:${this.owner.gid}`, this.dir]);
  }

  async start(): Promise<void> {
    if (this.proc) return;
    const log = openSync(join(this.dir, 'server.out'), 'a');
    const proc = spawn(join(this.home, 'bin', 'elasticsearch'), [], {
      cwd: this.dir,
      detached: true,
      stdio: ['ignore', log, log],
      env: this.serverEnv(),
      ...(this.owner ?? {}),
    });
    closeSync(log);
    proc.unref();
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    void this.exited.then(() => {
      if (this.proc === proc) this.proc = null;
    });
    await this.waitForHealth(proc);
  }

  private serverEnv(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.dir,
      ES_JAVA_HOME: this.javaHome,
      ES_PATH_CONF: join(this.dir, 'config'),
      ES_TMPDIR: join(this.dir, 'tmp'),
      ES_JAVA_OPTS: `-Xms${this.heapMb}m -Xmx${this.heapMb}m`,
    };
  }

  private async waitForHealth(proc: ChildProcess): Promise<void> {
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.proc !== proc)
        throw new Error(`elasticsearch harness: server exited during start-up\n${this.logTail()}`);
      if (await this.healthy()) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`elasticsearch harness: not healthy after ${HEALTH_TIMEOUT_MS} ms\n${this.logTail()}`);
  }

  async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/_cluster/health?wait_for_status=yellow&timeout=1s`, {
        signal: AbortSignal.timeout(3000),
      });
      return res.ok;
    } catch {
      return false;
    }
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(join(this.dir, 'server.out'), 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no server log)';
    }
  }

  /** SIGTERM to the process group, SIGKILL after 30 s; the data directory is kept. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    killGroup(proc, 'SIGTERM');
    const timer = setTimeout(() => killGroup(proc, 'SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Stops the server and removes its data directory. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stop();
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** For the process 'exit' hook: no awaiting possible there. */
  killSync(): void {
    if (this.proc) killGroup(this.proc, 'SIGKILL');
    this.proc = null;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function killGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  if (proc.pid === undefined) return;
  try {
    process.kill(-proc.pid, signal);
  } catch {
    // Already gone.
  }
}

const shared = new Map<string, Promise<EsTestServer>>();

/**
 * One server per version for the whole test process: start-up takes ~30 s, so suites share it
 * (each suite uses its own index names). It is killed when the process exits. Suites that stop
 * or restart the server must use their own `EsTestServer.launch()` instead.
 */
export function sharedEsServer(version: string = ES_TEST_VERSIONS.v9): Promise<EsTestServer> {
  let server = shared.get(version);
  if (!server) {
    server = EsTestServer.launch({ version });
    server.catch(() => shared.delete(version));
    shared.set(version, server);
  }
  return server;
}

/**
 * `npx tsx test/harness/elasticsearch.ts fetch` — for .ci/run: downloads and unzips both test
 * versions into the cache up front and creates the server user, so suites start at once.
 */
if (
  process.argv[1] &&
  import.meta.url === pathToFileURL(process.argv[1]).href &&
  process.argv[2] === 'fetch'
) {
  for (const version of Object.values(ES_TEST_VERSIONS)) {
    const started = Date.now();
    const home = ensureEsDistribution(version);
    process.stdout.write(`elasticsearch ${version}: ${home} (${Date.now() - started} ms)\n`);
  }
  ensureServerUser();
  process.stdout.write(`java: ${findJavaHome() ?? 'MISSING (install a Temurin JDK under /usr/lib/jvm)'}\n`);
}
