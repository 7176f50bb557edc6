/**
 * The configuration the members of a cluster share (SPEC §15), on PostgreSQL: the API-written
 * job documents and enable overrides. Every write first takes the next version from the one
 * counter row, whose lock it holds until it commits, so versions become visible in order.
 */
import type { JobDocument, SharedConfigStore } from './async-store.js';
import type { Session } from './postgres-session.js';
import { PG_SQL as SQL } from './postgres-sql.js';

const NEXT_VERSION = 'UPDATE config_version SET version = version + 1 WHERE id = 1 RETURNING version';

const WRITE_DOCUMENT = `
INSERT INTO job_documents (name, version, path, document, written_by, written_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (name) DO UPDATE SET version = excluded.version, path = excluded.path,
  document = excluded.document, written_by = excluded.written_by, written_at = excluded.written_at`;

const AFTER = `
SELECT name, version, path, document, written_by, written_at FROM job_documents
WHERE version > $1 ORDER BY version`;

interface DocumentRow {
  name: string;
  version: number;
  path: string;
  document: string | null;
  written_by: string;
  written_at: string;
}

export class PgSharedConfig implements SharedConfigStore {
  constructor(private readonly s: Session) {}

  async version(): Promise<number> {
    const { rows } = await this.s.query<{ version: number }>(
      'SELECT version FROM config_version WHERE id = 1',
    );
    return rows[0]?.version ?? 0;
  }

  writeDocument(doc: Omit<JobDocument, 'version'>): Promise<number> {
    return this.s.atomically(async (s) => {
      const version = await nextVersion(s);
      const { name, path, document, writtenBy, writtenAt } = doc;
      await s.query(WRITE_DOCUMENT, [name, version, path, document, writtenBy, writtenAt]);
      return version;
    });
  }

  setEnabledOverride(job: string, enabled: boolean | null): Promise<number> {
    return this.s.atomically(async (s) => {
      const version = await nextVersion(s);
      await s.query(SQL.setEnabledOverride, [job, enabled]);
      return version;
    });
  }

  async documentsAfter(version: number): Promise<JobDocument[]> {
    const { rows } = await this.s.query<DocumentRow>(AFTER, [version]);
    return rows.map((r) => ({
      name: r.name,
      version: r.version,
      path: r.path,
      document: r.document,
      writtenBy: r.written_by,
      writtenAt: r.written_at,
    }));
  }
}

async function nextVersion(s: Session): Promise<number> {
  const { rows } = await s.query<{ version: number }>(NEXT_VERSION);
  return rows[0]!.version;
}
