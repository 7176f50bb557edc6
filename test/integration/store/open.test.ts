import { expect } from 'chai';
import { isPostgresUrl, openStore } from '../../../src/store/open.js';
import { fakeRun } from '../../harness/runs.js';
import { describeStores } from './stores.js';

describe('store: --db picks the store', () => {
  it('takes postgres:// and postgresql:// URLs for PostgreSQL, anything else for a SQLite path', () => {
    expect(isPostgresUrl('postgres://u@h/db')).to.equal(true);
    expect(isPostgresUrl('postgresql://u@h:5432/db?sslmode=require')).to.equal(true);
    expect(isPostgresUrl('./data/distcron.db')).to.equal(false);
    expect(isPostgresUrl('/var/lib/postgres/distcron.db')).to.equal(false);
  });
});

describeStores('store: openStore', (fx) => {
  it('opens the store the --db value names', async () => {
    const store = await openStore(fx.kind === 'sqlite' ? fx.path : fx.url, { clock: fx.clock, poolSize: 2 });
    try {
      expect(store.kind).to.equal(fx.kind);
      const run = fakeRun();
      await store.insertRun(run);
      expect(await store.getRun(run.id)).to.deep.equal(run);
    } finally {
      await store.close();
    }
  });
});
