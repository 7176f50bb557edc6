import { expect } from 'chai';
import { postgresMissingReason, TestPostgres } from '../../harness/postgres.js';
import { skipSuite } from '../../harness/skip.js';

describe('postgres harness: a real PostgreSQL server on loopback', function () {
  let pg: TestPostgres;

  before(async function () {
    const reason = postgresMissingReason();
    if (reason) skipSuite(this, 'postgres', reason);
    pg = await TestPostgres.start();
  });

  after(() => pg?.stop());

  it('gives each test its own empty database, reachable over TCP on 127.0.0.1', () => {
    const first = pg.createDatabase();
    const second = pg.createDatabase();
    expect(pg.url(first)).to.match(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/test_/);
    pg.psql('CREATE TABLE t (x int); INSERT INTO t VALUES (42)', first);
    expect(pg.psql('SELECT x FROM t', first)).to.equal('42');
    expect(pg.psql("SELECT count(*) FROM pg_tables WHERE tablename = 't'", second)).to.equal('0');
  });

  it('survives a restart that drops every client connection, keeping the data', () => {
    const name = pg.createDatabase();
    pg.psql('CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)', name);
    const before = pg.psql('SELECT pg_postmaster_start_time()');
    pg.restart();
    expect(pg.psql('SELECT pg_postmaster_start_time()')).to.not.equal(before);
    expect(pg.psql('SELECT x FROM kept', name)).to.equal('7');
  });
});
