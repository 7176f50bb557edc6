import { expect } from 'chai';
import pg from 'pg';
import { SchemaTooNewError } from '../../../src/store/migrations.js';
import { openPostgresStore, redactUrl } from '../../../src/store/postgres.js';
import { migratePostgres, PG_MIGRATIONS } from '../../../src/store/postgres-migrations.js';
import { PG_TYPES } from '../../../src/store/postgres-session.js';
import { describeStores, rejection } from './stores.js';

const LATEST = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]!.version;

describeStores(
  'store: PostgreSQL migrations',
  (fx) => {
    async function withPool<T>(use: (pool: pg.Pool) => Promise<T>): Promise<T> {
      const pool = new pg.Pool({ connectionString: fx.url, types: PG_TYPES, max: 2 });
      try {
        return await use(pool);
      } finally {
        await pool.end();
      }
    }

    it('records each applied migration and re-opening an up-to-date database applies nothing', async () => {
      await (await fx.open()).close();
      const before = await fx.sql('SELECT * FROM schema_migrations ORDER BY version');
      expect(before.map((m) => m.version)).to.deep.equal(PG_MIGRATIONS.map((m) => m.version));
      await (await fx.open()).close();
      expect(await fx.sql('SELECT * FROM schema_migrations ORDER BY version')).to.deep.equal(before);
      expect(await withPool((pool) => migratePostgres(pool, 'test'))).to.deep.equal([]);
    });

    it('applies only the pending migrations, each in its own transaction', async () => {
      await (await fx.open()).close();
      const next = LATEST + 1;
      const migrations = [
        ...PG_MIGRATIONS,
        { version: next, name: 'add a table', sql: 'CREATE TABLE extra (x integer)' },
        { version: next + 1, name: 'broken', sql: 'CREATE TABLE extra (x integer)' },
      ];
      const err = await rejection(withPool((pool) => migratePostgres(pool, 'test', migrations)));
      expect(err.message).to.match(new RegExp(`store: migration ${next + 1} \\(broken\\).*already exists`));
      const versions = await fx.sql('SELECT version FROM schema_migrations ORDER BY version');
      expect(versions.map((v) => v.version)).to.deep.equal([...PG_MIGRATIONS.map((m) => m.version), next]);
    });

    it('applies each migration once when several daemons open a new database at once', async () => {
      const stores = await Promise.all([fx.open(), fx.open(), fx.open()]);
      expect(stores).to.have.length(3);
      const applied = await fx.sql('SELECT version FROM schema_migrations ORDER BY version');
      expect(applied.map((v) => v.version)).to.deep.equal(PG_MIGRATIONS.map((m) => m.version));
    });

    it('refuses to open a database written by a newer schema version, saying what to do', async () => {
      await (await fx.open()).close();
      await fx.sql(`INSERT INTO schema_migrations VALUES (${LATEST + 1}, 'from the future', 'x')`);
      const err = await rejection(fx.open());
      expect(err).to.be.instanceOf(SchemaTooNewError);
      expect(err.message).to.match(
        new RegExp(
          `store: .*schema version ${LATEST + 1}, newer than this distcron understands \\(${LATEST}\\).*--db`,
        ),
      );
    });

    it('refuses a foreign database whose tables clash, leaving it unchanged', async () => {
      await fx.sql('CREATE TABLE runs (x integer)');
      expect((await rejection(fx.open())).message).to.match(/store: migration 1 .*is --db pointing/);
      const tables = await fx.sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'",
      );
      expect(tables).to.deep.equal([{ tablename: 'runs' }]);
    });

    it('names the database without its password when it cannot connect', async () => {
      const url = 'postgres://distcron:s3cret@127.0.0.1:1/nowhere';
      expect(redactUrl(url)).to.equal('postgres://distcron:***@127.0.0.1:1/nowhere');
      const err = await rejection(openPostgresStore({ url, connectTimeoutMs: 2000 }));
      expect(err.message).to.not.include('s3cret');
    });
  },
  ['postgres'],
);
