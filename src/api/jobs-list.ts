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
 * The definitions sorted by name, rebuilt only when the control hands out a different set. A
 * control that returns the same array while nothing changed costs one comparison; otherwise
 * every definition is compared by identity (the registry keeps unchanged definitions), which
 * is still far cheaper than sorting every job on every request.
 */
class SortedDefinitions {
  private array: readonly JobDef[] | null = null;
  private source: readonly JobDef[] = [];
  private sorted: JobDef[] = [];

  of(definitions: readonly JobDef[]): JobDef[] {
    if (definitions === this.array) return this.sorted;
    if (!sameObjects(definitions, this.source)) {
      this.source = [...definitions];
      this.sorted = [...definitions].sort(byName);
    }
    this.array = definitions;
    return this.sorted;
  }
}

function sameObjects(a: readonly JobDef[], b: readonly JobDef[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const indexes = new WeakMap<DaemonControl, SortedDefinitions>();

function sortedDefinitions(control: DaemonControl, definitions: readonly JobDef[]): JobDef[] {
  let index = indexes.get(control);
  if (!index) indexes.set(control, (index = new SortedDefinitions()));
  return index.of(definitions);
}

/** Index of the first definition whose name sorts after `after` (binary search). */
function firstAfter(sorted: JobDef[], after: string | null): number {
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

/** Views of `names`, in that order (tolerates a control that returns more or fewer). */
function viewsOf(control: DaemonControl, names: string[]): JobView[] {
  const views = control.listJobs(names);
  if (views.length === names.length && views.every((v, i) => v.name === names[i])) return views;
  const byName = new Map(views.map((v) => [v.name, v]));
  const out: JobView[] = [];
  for (const name of names) {
    const view = byName.get(name);
    if (view) out.push(view);
  }
  return out;
}

function pageOf(matches: JobView[], limit: number): JobsPage {
  const jobs = matches.slice(0, limit);
  return { jobs, lastName: matches.length > limit ? jobs[jobs.length - 1]!.name : null };
}

/**
 * One page of the jobs list, sorted by name. With the control's `jobDefinitions` fast path only
 * the page's views are built (views cost schedule math and a state lookup per job), starting
 * at the cursor by binary search; a status filter builds views a chunk at a time until the
 * page is full.
 */
export function jobsPage(control: DaemonControl, query: JobsQuery): JobsPage {
  const definitions = control.jobDefinitions?.();
  if (!definitions) {
    const keep = definitionFilter(query);
    const views = control.listJobs().filter((v) => keep(v.definition));
    const matches = query.status === undefined ? views : views.filter((v) => matchesStatus(v, query.status!));
    return pageOf(matches.sort(byName), query.limit);
  }
  const scan = new NameScan(sortedDefinitions(control, definitions), definitionFilter(query), query.after);
  if (query.status === undefined) {
    // The (limit+1)-th name only tells whether another page follows; it needs no view.
    const names = scan.next(query.limit + 1);
    const jobs = viewsOf(control, names.slice(0, query.limit));
    return { jobs, lastName: names.length > query.limit ? (jobs[jobs.length - 1]?.name ?? null) : null };
  }
  const matches: JobView[] = [];
  while (!scan.done && matches.length <= query.limit)
    matches.push(
      ...viewsOf(control, scan.next(STATUS_SCAN_CHUNK)).filter((v) => matchesStatus(v, query.status!)),
    );
  return pageOf(matches, query.limit);
}

/** Walks the sorted definitions from the cursor on, handing out the names that pass the filter. */
class NameScan {
  private i: number;

  constructor(
    private readonly sorted: JobDef[],
    private readonly keep: (def: JobDef) => boolean,
    after: string | null,
  ) {
    this.i = firstAfter(sorted, after);
  }

  get done(): boolean {
    return this.i >= this.sorted.length;
  }

  next(count: number): string[] {
    const names: string[] = [];
    for (; this.i < this.sorted.length && names.length < count; this.i++)
      if (this.keep(this.sorted[this.i]!)) names.push(this.sorted[this.i]!.name);
    return names;
  }
}
