import type { JobDef } from '../core/types.js';
import type { DaemonControl, JobView } from '../daemon/control.js';
import { ApiError } from './errors.js';
import { RUN_STATUSES } from './routes-runs.js';

/** `status` of the jobs list: a last-run status, or the job's state. */
export const JOB_STATUS_FILTERS = [...RUN_STATUSES, 'enabled', 'disabled', 'never_run'] as const;

export interface JobsQuery {
  tag?: string;
  q?: string;
  status?: string;
  /** Only jobs whose name sorts after this one (the cursor). */
  after: string | null;
  limit: number;
}

export interface JobsPage {
  jobs: JobView[];
  /** Name of the last job of the page when another page follows. */
  lastName: string | null;
}

/** Views are built a chunk at a time while a status filter looks for enough matches. */
const STATUS_SCAN_CHUNK = 256;

export function checkJobStatusFilter(status: string | undefined): void {
  if (status !== undefined && !(JOB_STATUS_FILTERS as readonly string[]).includes(status))
    throw new ApiError(
      400,
      'invalid_parameter',
      `api: status must be one of ${JOB_STATUS_FILTERS.join(', ')}`,
      {
        parameter: 'status',
      },
    );
}

function matchesStatus(job: JobView, status: string): boolean {
  if (status === 'enabled') return job.enabled;
  if (status === 'disabled') return !job.enabled;
  if (status === 'never_run') return job.lastRun === null;
  if (status === 'running') return job.running > 0;
  return job.lastRun?.status === status;
}

function definitionFilter(query: JobsQuery): (def: JobDef) => boolean {
  const needle = query.q?.toLowerCase();
  return (def) =>
    (query.after === null || def.name > query.after) &&
    (query.tag === undefined || def.tags.includes(query.tag)) &&
    (needle === undefined ||
      def.name.toLowerCase().includes(needle) ||
      (def.description ?? '').toLowerCase().includes(needle));
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The first `count` definitions in name order that pass `keep`: one pass that keeps a sorted
 * list of at most `count` (a page is small, the job list may hold 100,000 definitions).
 */
function firstByName(
  definitions: readonly JobDef[],
  keep: (def: JobDef) => boolean,
  count: number,
): JobDef[] {
  const best: JobDef[] = [];
  for (const def of definitions) {
    if (best.length === count && def.name >= best[count - 1]!.name) continue;
    if (!keep(def)) continue;
    let i = best.length;
    while (i > 0 && best[i - 1]!.name > def.name) i--;
    best.splice(i, 0, def);
    if (best.length > count) best.pop();
  }
  return best;
}

/** Views of `names`, in that order. */
function viewsOf(control: DaemonControl, defs: readonly JobDef[]): JobView[] {
  const byName = new Map(control.listJobs(defs.map((d) => d.name)).map((v) => [v.name, v]));
  return defs.flatMap((d) => byName.get(d.name) ?? []);
}

/**
 * One page of the jobs list, sorted by name. Only the page's views are built (a view costs
 * schedule math and a state lookup); a status filter needs the views, so it builds them in
 * name order a chunk at a time until the page is full.
 */
export function jobsPage(control: DaemonControl, query: JobsQuery): JobsPage {
  const definitions = control.jobDefinitions();
  const keep = definitionFilter(query);
  if (query.status === undefined) {
    // The (limit+1)-th definition only tells whether another page follows; it needs no view.
    const defs = firstByName(definitions, keep, query.limit + 1);
    const jobs = viewsOf(control, defs.slice(0, query.limit));
    return { jobs, lastName: defs.length > query.limit ? (jobs[jobs.length - 1]?.name ?? null) : null };
  }
  const sorted = definitions.filter(keep).sort(byName);
  const matches: JobView[] = [];
  for (let i = 0; i < sorted.length && matches.length <= query.limit; i += STATUS_SCAN_CHUNK)
    matches.push(
      ...viewsOf(control, sorted.slice(i, i + STATUS_SCAN_CHUNK)).filter((v) =>
        matchesStatus(v, query.status!),
      ),
    );
  const jobs = matches.slice(0, query.limit);
  return { jobs, lastName: matches.length > query.limit ? jobs[jobs.length - 1]!.name : null };
}
