/**
 * Child process of claim-race.test.ts: claims the same fires as its sibling, through its own
 * Store on the shared file, and prints how many it won.
 */
import { newId } from '../../../src/core/ids.js';
import { isoUtc } from '../../../src/core/types.js';
import { openSqliteStore } from '../../../src/store/sqlite.js';
import { fakeRun } from '../../harness/runs.js';

const [path, fires, base, goAt] = process.argv.slice(2).map((a, i) => (i === 0 ? a : Number(a))) as [
  string,
  number,
  number,
  number,
];
const store = openSqliteStore({ path, busyTimeoutMs: 10_000 });
// Both children start claiming at the same wall-clock instant, so their transactions interleave.
await new Promise((resolve) => setTimeout(resolve, Math.max(0, goAt - Date.now())));
let won = 0;
for (let i = 0; i < fires; i++) {
  const at = base + i * 60_000;
  const run = fakeRun({ id: newId(), status: 'running', scheduled_at: isoUtc(at), started_at: isoUtc(at) });
  if (store.claimFire({ job: 'race', scheduledAt: at, advanceTo: at, runs: [{ run, nodeKey: '*' }] })) won++;
}
store.close();
process.stdout.write(`${won}\n`);
