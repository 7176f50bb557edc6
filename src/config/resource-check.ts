/** Jobs' `"resources"` against the pools of resources.d: unknown pools, amounts that never fit. Pure. */
import type { ConfigProblem, JobDef, ResourcePoolDef } from '../core/types.js';
import { PER_NODE_SUFFIX } from './parse-resources.js';
import { problemAt } from './source-map.js';

/** Errors: a run of such a job could never get its resources. */
export function checkJobPools(job: JobDef, pools: ReadonlyMap<string, ResourcePoolDef>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const claim of job.resources ?? []) {
    const key = claim.perNode ? claim.pool + PER_NODE_SUFFIX : claim.pool;
    const pool = pools.get(claim.pool);
    const fail = (message: string) => problems.push(problemAt(job, ['resources', key], message, 'error'));
    if (!pool)
      fail(
        `"resources" names pool "${claim.pool}", but no resources.d/${claim.pool}.json exists; add it or fix the name (runs of this job are skipped until then)`,
      );
    else if (pool.capacity !== undefined && claim.amount > pool.capacity)
      fail(
        `"resources" asks for ${claim.amount} of pool "${claim.pool}", whose capacity is ${pool.capacity}`,
      );
    else if (pool.perMinute !== undefined && claim.amount > pool.perMinute)
      fail(
        `"resources" asks for ${claim.amount} of pool "${claim.pool}", which allows ${pool.perMinute} per minute`,
      );
  }
  return problems;
}
