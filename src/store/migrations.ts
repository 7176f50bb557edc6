import type { Database } from 'better-sqlite3';
import { dependencyTablesSql } from './rounds-sql.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The `runs` columns are a public contract (SPEC §8): operators query them with `sqlite3`, so
 * their names and order never change; new facts go into new tables or new trailing columns.
 */
const INITIAL_SCHEMA = `
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  execution_id TEXT NOT NULL,
  job TEXT NOT NULL,
  node TEXT,
  host TEXT,
  trigger TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  scheduled_at TEXT,
  started_at TEXT,
  finished_at TEXT,
  duration_ms INTEGER,
  status TEXT NOT NULL,
  exit_code INTEGER,
  signal TEXT,
  stdout TEXT NOT NULL DEFAULT '',
  stderr TEXT NOT NULL DEFAULT '',
  output_truncated INTEGER NOT NULL DEFAULT 0 CHECK (output_truncated IN (0, 1)),
  error TEXT
) STRICT;

-- Every list query is "filters, newest first, id below the cursor": (filter columns, id) lets
-- SQLite walk one index backwards and stop after LIMIT rows.
CREATE INDEX runs_job_status_id ON runs (job, status, id);
CREATE INDEX runs_job_id ON runs (job, id);
CREATE INDEX runs_node_id ON runs (node, id);
CREATE INDEX runs_status_id ON runs (status, id);
CREATE INDEX runs_trigger_id ON runs (trigger, id);
CREATE INDEX runs_execution ON runs (execution_id);
-- since/until compare against this exact expression (see RUN_TIME_SQL in queries.ts); with id
-- in the index, a time range picks its page of ids without reading the table.
CREATE INDEX runs_time_id ON runs (coalesce(started_at, scheduled_at), id);
-- Retention prunes by finish time in small batches.
CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;

-- One row per (job, scheduled instant, node key, attempt) ever started: the uniqueness that makes
-- a fire run at most once across restarts (and across daemons sharing a database).
CREATE TABLE fire_claims (
  job TEXT NOT NULL,
  scheduled_at TEXT NOT NULL,
  node_key TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  run_id TEXT NOT NULL,
  PRIMARY KEY (job, scheduled_at, node_key, attempt)
) STRICT;
CREATE INDEX fire_claims_run ON fire_claims (run_id);

CREATE TABLE job_state (
  job TEXT PRIMARY KEY,
  last_scheduled_at TEXT,
  enabled_override INTEGER CHECK (enabled_override IN (0, 1)),
  last_status TEXT,
  last_run_id TEXT,
  last_finished_at TEXT
) STRICT;

CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  sink TEXT NOT NULL,
  key TEXT NOT NULL,
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  last_error TEXT,
  created_at TEXT NOT NULL,
  UNIQUE (sink, key)
) STRICT;
CREATE INDEX outbox_due ON outbox (sink, next_attempt_at);

CREATE TABLE dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  sink TEXT NOT NULL,
  key TEXT NOT NULL,
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  last_error TEXT,
  reason TEXT NOT NULL,
  enqueued_at TEXT NOT NULL,
  created_at TEXT NOT NULL
) STRICT;
CREATE INDEX dead_letters_sink ON dead_letters (sink, id);

CREATE TABLE notify_state (
  job TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  since TEXT NOT NULL,
  last_notified_at TEXT,
  last_reminder_at TEXT,
  flood_window_start TEXT,
  flood_count INTEGER NOT NULL DEFAULT 0
) STRICT;
`;

/** Trailing, nullable `runs` columns (SPEC §8); JSON columns hold JSON text. */
const RUN_FACTS = `
ALTER TABLE runs ADD COLUMN parameters TEXT;
ALTER TABLE runs ADD COLUMN requested_by TEXT;
ALTER TABLE runs ADD COLUMN parent_runs TEXT;
ALTER TABLE runs ADD COLUMN script_sha256 TEXT;
ALTER TABLE runs ADD COLUMN member TEXT;
`;

/** Every write through the API: who (token name), what, on what, from where, with which answer. */
const AUDIT_TABLE = `
CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  token TEXT,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  address TEXT,
  status INTEGER NOT NULL
) STRICT;
`;

/** Live output chunks (SPEC §17): deleted with their run by retention. */
const RUN_OUTPUT_CHUNKS = `
CREATE TABLE run_output (
  run_id TEXT NOT NULL,
  "offset" INTEGER NOT NULL,
  end_offset INTEGER NOT NULL,
  stream TEXT NOT NULL,
  text TEXT NOT NULL,
  PRIMARY KEY (run_id, "offset")
) STRICT, WITHOUT ROWID;
CREATE INDEX run_output_end ON run_output (run_id, end_offset);
`;

/**
 * The cluster tables of PostgreSQL (SPEC §15), kept here so a version means the same logical
 * schema on either store. SQLite is a one-member cluster of itself (its lock file): unused.
 */
const CLUSTER_TABLES = `
CREATE TABLE cluster_members (
  id TEXT PRIMARY KEY,
  listen TEXT,
  pid INTEGER NOT NULL,
  host TEXT NOT NULL,
  started_at TEXT NOT NULL,
  heartbeat_at TEXT NOT NULL,
  config_hash TEXT,
  in_flight INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE cluster_lease (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  holder TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  acquired_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
) STRICT;
`;

/**
 * Shared resource pools (SPEC §16): who holds how much of which pool, who waits (FIFO by
 * since, then run id), and recent acquisitions for the per-minute windows. A row of
 * resource_pools is the lock acquisitions of that pool take (PostgreSQL: FOR UPDATE).
 */
const RESOURCE_TABLES = `
CREATE TABLE resource_pools (
  name TEXT PRIMARY KEY
) STRICT;
CREATE TABLE resource_holdings (
  run_id TEXT NOT NULL,
  pool TEXT NOT NULL,
  amount INTEGER NOT NULL,
  acquired_at TEXT NOT NULL,
  job TEXT NOT NULL,
  node TEXT,
  PRIMARY KEY (run_id, pool)
) STRICT;
CREATE INDEX resource_holdings_pool ON resource_holdings (pool);
CREATE TABLE resource_waiters (
  run_id TEXT PRIMARY KEY,
  job TEXT NOT NULL,
  node TEXT,
  since TEXT NOT NULL,
  wants TEXT NOT NULL
) STRICT;
CREATE TABLE resource_acquisitions (
  pool TEXT NOT NULL,
  at TEXT NOT NULL,
  amount INTEGER NOT NULL,
  run_id TEXT NOT NULL
) STRICT;
CREATE INDEX resource_acquisitions_pool_at ON resource_acquisitions (pool, at);
`;

/**
 * API-written job documents shared by the members of a cluster (SPEC §15), versioned by one
 * counter row (every write takes the row's lock, so versions commit in order); a deleted job
 * keeps its row with a null document. Outbox items carry a delivery claim (member, expiry), so
 * several members deliver each item once. SQLite keeps the same schema; it is a one-member cluster.
 */
const SHARED_CONFIG = `
CREATE TABLE config_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
) STRICT;
INSERT INTO config_version (id, version) VALUES (1, 0);
CREATE TABLE job_documents (
  name TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  path TEXT NOT NULL,
  document TEXT,
  written_by TEXT NOT NULL,
  written_at TEXT NOT NULL
) STRICT;
CREATE INDEX job_documents_version ON job_documents (version);
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
`;

/**
 * The shared run queue (SPEC §15): claimed and manual executions wait here until a member takes
 * one (taken_by); node_load/node_slots count the runs executing on each node across members
 * (max_concurrent_runs, least_loaded), one slot row per run so a dead member's are reconciled.
 */
const RUN_QUEUE = `
CREATE TABLE run_queue (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  execution_id TEXT NOT NULL UNIQUE,
  job TEXT NOT NULL,
  after_previous INTEGER NOT NULL CHECK (after_previous IN (0, 1)),
  job_def TEXT,
  queued_at TEXT NOT NULL,
  taken_by TEXT,
  taken_at TEXT
) STRICT;
CREATE INDEX run_queue_job ON run_queue (job, seq);
CREATE INDEX run_queue_waiting ON run_queue (seq) WHERE taken_by IS NULL;
CREATE TABLE node_load (
  node TEXT PRIMARY KEY,
  running INTEGER NOT NULL
) STRICT;
CREATE TABLE node_slots (
  run_id TEXT PRIMARY KEY,
  node TEXT NOT NULL,
  member TEXT NOT NULL,
  taken_at TEXT NOT NULL
) STRICT;
CREATE INDEX node_slots_member ON node_slots (member);
`;

/**
 * A cancel asked of a run executing (or queued) on another member (SPEC §15). A table of its own,
 * not columns of `runs`: `runs` keeps exactly the columns SPEC §8 lists for operators' queries,
 * and a request lives only while its run is `running` (deleted when it becomes final).
 */
const RUN_CANCELS = `
CREATE TABLE run_cancels (
  run_id TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  requested_by TEXT
) STRICT;
`;

/** Append only: a released migration is never edited, a change is a new version. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial schema', sql: INITIAL_SCHEMA },
  {
    version: 2,
    name: 'job_state.schedule_key',
    // The schedule a job's last scheduled instant was counted under: an edited schedule restarts
    // from now instead of catching up instants of the old one.
    sql: 'ALTER TABLE job_state ADD COLUMN schedule_key TEXT;',
  },
  { version: 3, name: 'runs: parameters, requested_by, parent_runs, script_sha256, member', sql: RUN_FACTS },
  { version: 4, name: 'audit log of API writes', sql: AUDIT_TABLE },
  { version: 5, name: 'run_output_chunks', sql: RUN_OUTPUT_CHUNKS },
  { version: 6, name: 'cluster members and leader lease', sql: CLUSTER_TABLES },
  { version: 7, name: 'resource pools: holdings, waiters, acquisitions', sql: RESOURCE_TABLES },
  { version: 8, name: 'dependency rounds', sql: dependencyTablesSql('sqlite') },
  { version: 9, name: 'shared job documents, outbox delivery claims', sql: SHARED_CONFIG },
  { version: 10, name: 'run queue and node slots', sql: RUN_QUEUE },
  { version: 11, name: 'run cancel requests', sql: RUN_CANCELS },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export class SchemaTooNewError extends Error {}

const BOOKKEEPING = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
) STRICT`;

export function schemaVersion(db: Database): number {
  const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/**
 * Brings the database up to LATEST_SCHEMA_VERSION; returns the versions applied (none when it
 * was up to date). Each migration runs in its own IMMEDIATE transaction and re-reads the version
 * inside it, so two processes opening the same new file at once do not both apply it.
 */
export function migrate(db: Database, path: string, migrations: readonly Migration[] = MIGRATIONS): number[] {
  db.exec(BOOKKEEPING);
  refuseNewerSchema(db, path, migrations);
  const applied: number[] = [];
  for (const migration of migrations) {
    const ran = db.transaction(() => applyIfPending(db, path, migration)).immediate();
    if (ran) applied.push(migration.version);
  }
  return applied;
}

function applyIfPending(db: Database, path: string, migration: Migration): boolean {
  if (schemaVersion(db) >= migration.version) return false;
  try {
    db.exec(migration.sql);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `store: migration ${migration.version} (${migration.name}) of ${path} failed: ${reason}; ` +
        'the file is unchanged by it — is --db pointing at a distcron database?',
    );
  }
  db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
    migration.version,
    migration.name,
    new Date().toISOString(),
  );
  return true;
}

function refuseNewerSchema(db: Database, path: string, migrations: readonly Migration[]): void {
  const found = schemaVersion(db);
  const known = migrations[migrations.length - 1]?.version ?? 0;
  if (found > known) {
    throw new SchemaTooNewError(
      `store: database ${path} has schema version ${found}, newer than this distcron understands ` +
        `(${known}); run a distcron release at least as new as the one that wrote it, or point --db elsewhere`,
    );
  }
}
