/**
 * A stand-in daemon for the kill -9 test: opens the SQLite store and ships its Elasticsearch
 * outbox until killed. Usage: node --import tsx ship-child.ts DB_PATH ES_URL BATCH_SIZE
 */
import { EsShipper } from '../../../src/report/shipper.js';
import { openSqliteStore } from '../../../src/store/sqlite.js';
import { SqliteAsyncStore } from '../../../src/store/sqlite-async.js';

const [dbPath, esUrl, batchSize] = process.argv.slice(2);
if (!dbPath || !esUrl) throw new Error('usage: ship-child.ts DB_PATH ES_URL [BATCH_SIZE]');
const store = openSqliteStore({ path: dbPath });
const shipper = new EsShipper({
  store: new SqliteAsyncStore(store),
  url: esUrl,
  batchSize: Number(batchSize ?? 100),
  concurrency: 1,
});
shipper.start();
shipper.notify();
const report = setInterval(() => process.stdout.write(`shipped ${shipper.status().shipped}\n`), 100);
process.on('SIGTERM', () => {
  clearInterval(report);
  void shipper.close().then(() => store.close());
});
