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
 * The `k` smallest names of the kept definitions, sorted. One pass with a sorted buffer of size
 * k: a name not below the buffer's largest costs one comparison, so the usual (mostly sorted)
 * registry order costs O(n) instead of sorting every job on every request.
 */
export function smallestNames(
  definitions: readonly JobDef[],
  keep: (d: JobDef) => boolean,
  k: number,
): string[] {
  const out: string[] = [];
  for (const def of definitions) {
    const name = def.name;
    if (out.length === k && name >= out[k - 1]!) continue;
    if (!keep(def)) continue;
    let lo = 0;
    let hi = out.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (out[mid]! < name) lo = mid + 1;
      else hi = mid;
    }
    out.splice(lo, 0, name);
    if (out.length > k) out.pop();
  }
  return out;
}

/** Views of `names`, in that order (tolerates a control that returns more or fewer). */
function viewsOf(control: DaemonControl, names: string[]): JobView[] {
  const views = new Map(control.listJobs(names).map((v) => [v.name, v]));
  return names.flatMap((n) => views.get(n) ?? []);
}

function pageOf(matches: JobView[], limit: number): JobsPage {
  const jobs = matches.slice(0, limit);
  return { jobs, lastName: matches.length > limit ? jobs[jobs.length - 1]!.name : null };
}

/**
 * One page of the jobs list, sorted by name. With the control's `jobDefinitions` fast path only
 * the page's views are built (views cost schedule math and a state lookup per job); a status
 * filter builds views chunk by chunk until the page is full.
 */
export function jobsPage(control: DaemonControl, query: JobsQuery): JobsPage {
  const definitions = control.jobDefinitions?.();
  if (!definitions) {
    const keep = definitionFilter(query);
    const views = control.listJobs().filter((v) => keep(v.definition));
    const matches = query.status === undefined ? views : views.filter((v) => matchesStatus(v, query.status!));
    return pageOf(matches.sort(byName), query.limit);
  }
  const keep = definitionFilter(query);
  if (query.status === undefined) {
    // Only the first limit+1 names are needed: a bounded selection, not a sort of every job.
    const first = smallestNames(definitions, keep, query.limit + 1);
    const page = viewsOf(control, first.slice(0, query.limit));
    return {
      jobs: page,
      lastName: first.length > query.limit ? (page[page.length - 1]?.name ?? null) : null,
    };
  }
  const names = definitions
    .filter(keep)
    .map((d) => d.name)
    .sort();
  const matches: JobView[] = [];
  for (let i = 0; i < names.length && matches.length <= query.limit; i += STATUS_SCAN_CHUNK) {
    const chunk = viewsOf(control, names.slice(i, i + STATUS_SCAN_CHUNK));
    matches.push(...chunk.filter((v) => matchesStatus(v, query.status!)));
  }
  return pageOf(matches, query.limit);
}
