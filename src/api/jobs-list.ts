// Speed layer kept: the per-array sorted index (sortedIndex) earns its place in bench/api/README.md.
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
    (query.tag === undefined || def.tags.includes(query.tag)) &&
    (needle === undefined ||
      def.name.toLowerCase().includes(needle) ||
      (def.description ?? '').toLowerCase().includes(needle));
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The definitions sorted by name, once per definitions array (the registry hands out a new
 * array when a job changes), so a page starts at its cursor by binary search instead of a scan
 * of every job. Weak keys: an old array goes with its index.
 */
const sortedIndex = new WeakMap<readonly JobDef[], JobDef[]>();

function sortedByName(definitions: readonly JobDef[]): JobDef[] {
  let sorted = sortedIndex.get(definitions);
  if (sorted === undefined) sortedIndex.set(definitions, (sorted = [...definitions].sort(byName)));
  return sorted;
}

/** Index of the first definition whose name sorts after `after` (binary search). */
function firstAfter(sorted: readonly JobDef[], after: string | null): number {
  if (after === null) return 0;
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.name <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** From the cursor on, the first `count` definitions that pass `keep`, and where the walk stopped. */
function take(sorted: readonly JobDef[], from: number, keep: (def: JobDef) => boolean, count: number) {
  const defs: JobDef[] = [];
  let i = from;
  for (; i < sorted.length && defs.length < count; i++) if (keep(sorted[i]!)) defs.push(sorted[i]!);
  return { defs, next: i };
}

/** Views of `names`, in that order. */
async function viewsOf(control: DaemonControl, defs: readonly JobDef[]): Promise<JobView[]> {
  const byName = new Map((await control.listJobs(defs.map((d) => d.name))).map((v) => [v.name, v]));
  return defs.flatMap((d) => byName.get(d.name) ?? []);
}

/**
 * One page of the jobs list, sorted by name. Only the page's views are built (a view costs
 * schedule math and a state lookup); a status filter needs the views, so it builds them in
 * name order a chunk at a time until the page is full.
 */
export async function jobsPage(control: DaemonControl, query: JobsQuery): Promise<JobsPage> {
  const sorted = sortedByName(control.jobDefinitions());
  const keep = definitionFilter(query);
  const start = firstAfter(sorted, query.after);
  if (query.status === undefined) {
    // The (limit+1)-th definition only tells whether another page follows; it needs no view.
    const { defs } = take(sorted, start, keep, query.limit + 1);
    const jobs = await viewsOf(control, defs.slice(0, query.limit));
    return { jobs, lastName: defs.length > query.limit ? (jobs[jobs.length - 1]?.name ?? null) : null };
  }
  const matches: JobView[] = [];
  for (let i = start; i < sorted.length && matches.length <= query.limit;) {
    const chunk = take(sorted, i, keep, STATUS_SCAN_CHUNK);
    matches.push(...(await viewsOf(control, chunk.defs)).filter((v) => matchesStatus(v, query.status!)));
    i = chunk.next;
  }
  const jobs = matches.slice(0, query.limit);
  return { jobs, lastName: matches.length > query.limit ? jobs[jobs.length - 1]!.name : null };
}
