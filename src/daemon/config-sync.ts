/**
 * One configuration across the members of a cluster (SPEC §15): what the API writes (PUT and
 * DELETE of a job, enable/disable) is stored in the database under the next version, and every
 * member writes the newer job documents into its own jobs.d (atomically, at the path the writing
 * member used), where its watcher loads them like any file. Each member polls the version (one
 * row) every `pollMs`; it remembers the version it has applied in a dotfile of its jobs.d (the
 * watcher ignores dotfiles), so after a restart it applies only what it missed, and a fresh
 * jobs.d gets every document. Files dropped by hand are not shared: they must be deployed to
 * every member, and a member whose loaded configuration differs from the leader's says so.
 *
 * Conflicts: each job's row holds its latest write, and the versions commit in order, so two
 * members writing one job at once both end with the later version's document.
 */
import { readFile, rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep, basename } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { AsyncStore, JobDocument, SharedConfigStore } from '../store/async-store.js';
import type { JobState } from '../store/store.js';
import { writeAtomically } from './atomic-write.js';
import type { ConfigSource } from './config-source.js';
import type { JobTable } from './job-table.js';
import type { Base } from './parts.js';

/** The dotfile in jobs.d holding the last shared version this member applied. */
export const APPLIED_VERSION_FILE = '.distcron-shared-version';

export interface ConfigSyncOptions {
  shared: SharedConfigStore;
  /** Reads every job's stored state (the enable overrides). */
  listJobStates: () => Promise<JobState[]>;
  jobsDir: string;
  member: string;
  clock: Clock;
  logger: Logger;
  /** How often the version is read. */
  pollMs: number;
  /** Loads files just written or removed here, and resolves once they are applied. */
  reload: (files: string[]) => Promise<void>;
  /** Takes the stored enable overrides as they are (nothing written). */
  adoptOverrides: (states: readonly JobState[]) => Promise<void>;
}

/** The API's writes, as the control sends them to the cluster. */
export interface SharedJobWrites {
  /** Shares the job document just loaded from `file` (null text: the job was deleted). */
  publish(name: string, file: string, text: string | null): Promise<void>;
  /** Stores the enable override for every member and applies it here. */
  setEnabled(name: string, enabled: boolean): Promise<void>;
}

export class ConfigSync implements SharedJobWrites {
  /** The version whose documents and overrides this member has applied. */
  private applied = 0;
  private readonly stop = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private failing = false;
  private readonly root: string;

  constructor(private readonly o: ConfigSyncOptions) {
    this.root = resolve(o.jobsDir);
  }

  /** Applies what this member missed, then keeps polling. */
  async start(): Promise<void> {
    this.applied = await this.readAppliedVersion();
    await this.syncOnce();
    this.loop = this.poll();
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.loop;
  }

  async publish(name: string, file: string, text: string | null): Promise<void> {
    const path = relative(this.root, resolve(file));
    const writtenAt = new Date(this.o.clock.now()).toISOString();
    const version = await this.o.shared.writeDocument({
      ...{ name, path, document: text },
      ...{ writtenBy: this.o.member, writtenAt },
    });
    this.o.logger.info({ job: name, version, deleted: text === null }, 'config: job shared with the cluster');
  }

  async setEnabled(name: string, enabled: boolean): Promise<void> {
    await this.o.shared.setEnabledOverride(name, enabled);
    await this.o.adoptOverrides(await this.o.listJobStates());
  }

  /** Resolves once every write stored so far is applied here (tests, read-your-writes). */
  async syncOnce(): Promise<void> {
    const version = await this.o.shared.version();
    if (version <= this.applied) return;
    const documents = await this.o.shared.documentsAfter(this.applied);
    const changed: string[] = [];
    for (const doc of documents) {
      const file = await this.apply(doc);
      if (file) changed.push(file);
    }
    if (changed.length > 0) await this.o.reload(changed);
    await this.o.adoptOverrides(await this.o.listJobStates());
    this.applied = version;
    await writeAtomically(join(this.root, APPLIED_VERSION_FILE), `${version}\n`);
    if (changed.length > 0)
      this.o.logger.info({ version, files: changed.length }, 'config: shared job documents applied');
  }

  private async poll(): Promise<void> {
    while (!this.stop.signal.aborted) {
      await this.o.clock.sleep(this.o.pollMs, this.stop.signal);
      if (this.stop.signal.aborted) return;
      try {
        await this.syncOnce();
        if (this.failing) this.o.logger.info('config: shared configuration readable again');
        this.failing = false;
      } catch (err) {
        if (!this.failing)
          this.o.logger.error(
            { err },
            'config: reading the shared configuration failed; retrying (logged once)',
          );
        this.failing = true;
      }
    }
  }

  /** Writes (or removes) one document's file when it differs; resolves the file, or null. */
  private async apply(doc: JobDocument): Promise<string | null> {
    const file = this.fileOf(doc);
    if (!file) {
      this.o.logger.error(
        { job: doc.name, path: doc.path },
        'config: shared job document has an unsafe path; ignored',
      );
      return null;
    }
    const current = await readFile(file, 'utf8').catch(() => null);
    if (current === doc.document) return null;
    if (doc.document === null) await rm(file, { force: true });
    else await writeAtomically(file, doc.document);
    return file;
  }

  /** The document's file inside jobs.d, named after its job; null for any other path. */
  private fileOf(doc: JobDocument): string | null {
    if (isAbsolute(doc.path)) return null;
    const file = resolve(this.root, doc.path);
    if (!file.startsWith(this.root + sep) || basename(file) !== `${doc.name}.json`) return null;
    if (
      relative(this.root, file)
        .split(sep)
        .some((part) => part.startsWith('.'))
    )
      return null;
    return file;
  }

  private async readAppliedVersion(): Promise<number> {
    const text = await readFile(join(this.root, APPLIED_VERSION_FILE), 'utf8').catch(() => '');
    const version = Number.parseInt(text.trim(), 10);
    return Number.isSafeInteger(version) && version > 0 ? version : 0;
  }
}

/**
 * PostgreSQL: shares the API's job writes between the members and applies what this member
 * missed before it schedules. SQLite (one daemon): its jobs.d is the whole truth; none.
 */
export async function startConfigSync(
  base: Base,
  deps: {
    store: AsyncStore;
    jobs: JobTable;
    source: ConfigSource;
    applied: () => Promise<void>;
    member: string;
  },
): Promise<ConfigSync | undefined> {
  const shared = deps.store.sharedConfig;
  if (!shared) return undefined;
  const sync = new ConfigSync({
    shared,
    listJobStates: () => deps.store.listJobStates(),
    jobsDir: base.options.jobsDir,
    member: deps.member,
    clock: base.clock,
    logger: base.logger,
    pollMs: base.options.sharedConfigPollMs,
    reload: async (files) => {
      await deps.source.refresh(files);
      await deps.applied();
    },
    adoptOverrides: (states) => deps.jobs.adoptOverrides(states),
  });
  await sync.start();
  base.cleanup.push('shared config', () => sync.close());
  return sync;
}
