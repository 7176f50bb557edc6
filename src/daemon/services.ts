import { readFileSync } from 'node:fs';
import type { ApiServer } from '../api/server.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { JobDef, RunRecord } from '../core/types.js';
import { Notifier } from '../notify/notifier.js';
import type { EsShipper } from '../report/shipper.js';
import type { AsyncStore } from '../store/async-store.js';
import type { DaemonControl } from './control.js';
import { parseListen, type DaemonOptions } from './options.js';

export interface ServiceDeps {
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  store: AsyncStore;
  /** In a cluster only the leader queues still_failing reminders (default: this daemon does). */
  remindsHere?: () => boolean;
  control: DaemonControl;
  jobs: (name: string) => JobDef | undefined;
}

/** The daemon's outward-facing parts: REST API, Elasticsearch shipper, notifier. */
export interface Services {
  apiUrl: string | null;
  /** New outbox entries exist (a run finished). */
  wake(run?: RunRecord): void;
  close(): Promise<void>;
}

export async function startServices(options: DaemonOptions, deps: ServiceDeps): Promise<Services> {
  const shipper = options.esUrl ? await startShipper(options, deps) : null;
  const notifier = startNotifier(options, deps);
  let api: ApiServer | null = null;
  try {
    api = options.listen ? await startApi(options, deps) : null;
  } catch (err) {
    await Promise.all([shipper?.close(), notifier.close()]);
    throw err;
  }
  return {
    apiUrl: api?.url ?? null,
    wake: () => {
      shipper?.notify();
      notifier.notify();
    },
    close: async () => {
      await api?.close();
      await Promise.all([shipper?.close(), notifier.close()]);
    },
  };
}

/** Loaded only when the API listens: express and the routes cost ~0.8 s of CPU to import. */
async function startApi(options: DaemonOptions, deps: ServiceDeps): Promise<ApiServer> {
  const { loadApiTokens, startApiServer } = await import('../api/server.js');
  const { host, port } = parseListen(options.listen!);
  const tokens = options.apiTokensFile ? loadApiTokens(options.apiTokensFile) : null;
  return startApiServer(deps.control, {
    host,
    port,
    tokens,
    logger: deps.logger,
    allowedHosts: options.apiAllowedHosts,
    corsOrigins: options.apiCorsOrigins,
    insecureNoAuth: options.apiInsecureNoAuth,
    baseUrl: options.apiBaseUrl,
    deadLetters: (limit) => deps.store.listDeadLetters(undefined, limit),
    ui: options.ui,
  });
}

/** Loaded only when shipping is configured: the Elasticsearch client costs ~0.8 s of CPU to import. */
async function startShipper(options: DaemonOptions, deps: ServiceDeps): Promise<EsShipper> {
  const [{ esConnectionFrom }, { EsShipper }] = await Promise.all([
    import('../cli/es-setup.js'),
    import('../report/shipper.js'),
  ]);
  // Flags and DISTCRON_* env were resolved already; the shared builder adds ELASTICSEARCH_* and
  // refuses a user without a password (a clear error at start-up instead of 401s later).
  const flags = {
    esUrl: options.esUrl,
    esApiKey: options.esApiKey,
    esUsername: options.esUsername,
    esPassword: options.esPassword,
    esCaFile: options.esCaFile,
  };
  const connection = esConnectionFrom(flags)!;
  const shipper = new EsShipper({
    store: deps.store,
    ...connection,
    clock: deps.clock,
    logger: deps.logger,
    metrics: deps.metrics,
  });
  shipper.start();
  return shipper;
}

function startNotifier(options: DaemonOptions, deps: ServiceDeps): Notifier {
  const smtp = options.smtpUrl
    ? {
        url: options.smtpUrl,
        from: options.mailFrom,
        user: options.smtpUser,
        password: options.smtpPassword,
        requireTls: options.smtpRequireTls,
        tlsInsecure: options.smtpTlsInsecure,
        ca: options.smtpCaFile ? readFileSync(options.smtpCaFile, 'utf8') : undefined,
      }
    : undefined;
  const notifier = new Notifier({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    metrics: deps.metrics,
    smtp,
    adminEmail: options.adminEmail,
    apiBaseUrl: options.apiBaseUrl ?? (options.listen ? `http://${options.listen}` : 'http://127.0.0.1:8080'),
    remindEveryMs: options.remindEveryMs,
    floodPerHour: options.floodPerHour,
    jobs: deps.jobs,
    ...(deps.remindsHere ? { remindsHere: deps.remindsHere } : {}),
  });
  notifier.start();
  return notifier;
}
