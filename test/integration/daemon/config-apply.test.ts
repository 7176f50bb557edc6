import { expect } from 'chai';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { DaemonEnv } from '../../harness/daemon-env.js';
import { waitFor } from '../../harness/daemon-process.js';

/**
 * A config change the daemon cannot apply (here: SQLite stays locked by another connection past
 * the busy timeout while a new job's first state is stored) must not vanish: it is listed with
 * the config errors, the registry and the scheduler both keep the previous state, and it is
 * applied once the store works again.
 */
describe('daemon: a config change that fails to apply', function () {
  this.timeout(60_000);
  let env: DaemonEnv;

  beforeEach(() => {
    env = new DaemonEnv();
    env.writeNode('local', { roles: ['local'], connection_type: 'local' });
    env.writeJob('steady', { policy: { roles: ['local'] }, schedule: '0 3 * * *', command: ['true'] });
  });
  afterEach(() => env.cleanup());

  it('is reported and retried, and the registry and scheduler agree meanwhile', async () => {
    const daemon = await env.start();
    const blocker = new Database(env.dbPath);
    blocker.exec('BEGIN IMMEDIATE');
    try {
      env.writeJob('fresh', { policy: { roles: ['local'] }, schedule: '0 4 * * *', command: ['true'] });
      const problems = await waitFor('the apply error', () => {
        const found = daemon.control.configErrors().filter((p) => p.file.endsWith('fresh.json'));
        return found.length > 0 && found;
      });
      expect(problems[0]!.message).to.match(/could not be applied \(.*locked.*\).*retrying/);
      expect(problems[0]!.file).to.equal(join(env.jobsDir, 'fresh.json'));
      // Neither half has it: no job view (registry) and so nothing the scheduler could fire.
      expect(await daemon.control.getJob('fresh')).to.equal(undefined);
      expect((await daemon.control.getJob('steady'))?.nextFireTimes).to.have.length(5);
    } finally {
      blocker.exec('ROLLBACK');
      blocker.close();
    }
    const view = await waitFor('the retried change', () => daemon.control.getJob('fresh'));
    expect(view.nextFireTimes).to.have.length(5);
    expect(daemon.control.configErrors()).to.deep.equal([]);
  });
});
