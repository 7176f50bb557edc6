import { expect } from 'chai';
import { loadConfig } from '../../../src/config/load.js';

describe('the shipped jobs.d and nodes.d', () => {
  it('load without problems and include a chain of jobs', async () => {
    const config = await loadConfig({ jobsDir: 'jobs.d', nodesDir: 'nodes.d', defaultTimezone: 'UTC' });
    expect(config.problems).to.deep.equal([]);
    const chained = [...config.jobs.values()].filter((job) => job.after);
    expect(chained.map((job) => job.name)).to.deep.equal(['disk-report']);
    expect(chained[0]!.after!.parents).to.deep.equal([{ job: 'disk-usage', on: 'success', hosts: 'all' }]);
    expect(config.jobs.get('disk-usage')?.policy.select).to.equal('all');
  });
});
