import fc from 'fast-check';
import { expect } from 'chai';
import { jobsPage } from '../../../src/api/jobs-list.js';
import type { JobDef } from '../../../src/core/types.js';
import type { DaemonControl, JobView } from '../../../src/daemon/control.js';
import { jobDef as testJob } from '../../harness/defs.js';

/** Only what jobsPage reads of a control: definitions and views of named jobs. */
function controlOf(defs: JobDef[], disabled: Set<string>): DaemonControl {
  const view = (d: JobDef) => ({ name: d.name, definition: d, enabled: !disabled.has(d.name) }) as JobView;
  return {
    jobDefinitions: () => defs,
    listJobs: async (names?: readonly string[]) =>
      (names ?? defs.map((d) => d.name)).flatMap((n) => defs.filter((d) => d.name === n)).map(view),
  } as unknown as DaemonControl;
}

describe('api jobs list paging', () => {
  it('visits exactly the filtered jobs in name order, one page at a time, whatever the page size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.stringMatching(/^[a-z0-9._-]{1,6}$/), { maxLength: 120 }),
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom(undefined, 'a', 'b'),
        fc.boolean(),
        async (names, limit, tag, onlyDisabled) => {
          const defs = names.map((n, i) => testJob(n, { tags: i % 2 === 0 ? ['a'] : ['b'] }));
          const disabled = new Set(names.filter((_, i) => i % 3 === 0));
          const control = controlOf(defs, disabled);
          const seen: string[] = [];
          let after: string | null = null;
          do {
            const page = await jobsPage(control, {
              tag,
              status: onlyDisabled ? 'disabled' : undefined,
              after,
              limit,
            });
            expect(page.jobs.length).to.be.at.most(limit);
            seen.push(...page.jobs.map((j) => j.name));
            after = page.lastName;
          } while (after !== null);
          const expected = defs
            .filter(
              (d) => (tag === undefined || d.tags.includes(tag)) && (!onlyDisabled || disabled.has(d.name)),
            )
            .map((d) => d.name)
            .sort();
          expect(seen).to.deep.equal(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('notices a changed set of definitions between requests, also with the same length', async () => {
    let defs = ['b', 'a'].map((n) => testJob(n));
    const control = {
      jobDefinitions: () => defs,
      listJobs: async (names: readonly string[]) =>
        defs.filter((d) => names.includes(d.name)).map((d) => ({ name: d.name })),
    } as unknown as DaemonControl;
    const names = async () => (await jobsPage(control, { after: null, limit: 10 })).jobs.map((j) => j.name);
    expect(await names()).to.deep.equal(['a', 'b']);
    defs = [...defs, testJob('0-first')];
    expect(await names()).to.deep.equal(['0-first', 'a', 'b']);
    defs = [testJob('c'), ...defs.slice(1)];
    expect(await names()).to.deep.equal(['0-first', 'a', 'c']);
  });
});
