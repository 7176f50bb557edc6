/**
 * Problems between jobs' `after` lists (SPEC §16): unknown parents, a job after itself, cycles —
 * and which definition of each job is active while they last. Pure.
 *
 * Every job in a cycle gets the error (at its `after` entry naming the next job of the cycle): an
 * operator looking at any of the files sees why. Like a file that fails to parse, a job whose
 * new version brings a dependency error keeps its last good version active; a new job with one
 * is not loaded. A job that did not change keeps running when a parent disappears (another file
 * was deleted): that dependency then waits for a parent that never completes, and is reported.
 */
import type { ConfigProblem, JobDef } from '../core/types.js';
import { problemAt } from './source-map.js';

export interface DependencyCheck {
  /** The definitions to run: the candidates, with those a dependency error holds back replaced or left out. */
  active: Map<string, JobDef>;
  problems: ConfigProblem[];
}

type Jobs = ReadonlyMap<string, JobDef>;

/**
 * `candidates`: every job's newest definition that parsed; `previous`: the definitions active
 * before this change (none at start-up).
 */
export function checkDependencies(candidates: Jobs, previous?: Jobs): DependencyCheck {
  // Checked on every change: without dependent jobs (the common case) nothing is allocated.
  let dependents: JobDef[] | undefined;
  for (const job of candidates.values()) if (job.after) (dependents ??= []).push(job);
  if (!dependents) return { active: candidates as Map<string, JobDef>, problems: [] };
  const problems: ConfigProblem[] = [];
  const held = new Set<string>();
  for (const job of dependents) {
    const found = unknownParents(job, candidates);
    if (found.length > 0) held.add(job.name);
    problems.push(...found);
  }
  for (const component of findCycles(candidates)) {
    for (const name of component.members) held.add(name);
    problems.push(...cycleProblems(component, candidates));
  }
  if (held.size === 0) return { active: candidates as Map<string, JobDef>, problems };
  return { active: resolveActive(candidates, previous, held), problems };
}

function unknownParents(job: JobDef, jobs: Jobs): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  job.after!.parents.forEach((parent, i) => {
    if (parent.job === job.name)
      problems.push(
        problemAt(job, ['after', i, 'job'], 'a job cannot run after itself; remove this entry', 'error'),
      );
    else if (!jobs.has(parent.job))
      problems.push(
        problemAt(
          job,
          ['after', i, 'job'],
          `no job "${parent.job}" exists; add jobs.d/${parent.job}.json or fix the name`,
          'error',
        ),
      );
  });
  return problems;
}

/** Every member of the component gets the error, at its first parent inside the component. */
function cycleProblems({ cycle, members }: Cycle, jobs: Jobs): ConfigProblem[] {
  const shown = [...cycle, cycle[0]!].join(' after ');
  return [...members].map((name) => {
    const job = jobs.get(name)!;
    const index = job.after!.parents.findIndex((p) => members.has(p.job) && p.job !== name);
    return problemAt(
      job,
      ['after', index, 'job'],
      `"after" forms a cycle (${shown}), so none of these jobs could ever start a round; remove one of these dependencies`,
      'error',
    );
  });
}

/**
 * Jobs with an error fall back to their previous definition (or are left out); repeated until
 * the active graph has no cycle, since a fallback brings back its own old parents.
 */
function resolveActive(candidates: Jobs, previous: Jobs | undefined, held: Set<string>): Map<string, JobDef> {
  const active = new Map(candidates);
  const fallBack = (name: string, always: boolean) => {
    const before = previous?.get(name);
    if (before === undefined) active.delete(name);
    else if (before !== active.get(name)) active.set(name, before);
    else if (always) active.delete(name);
  };
  for (const name of held) fallBack(name, false);
  for (let round = 0; round <= candidates.size; round++) {
    const cycles = findCycles(active);
    if (cycles.length === 0) break;
    // A cycle made only of unchanged definitions cannot come from a good previous state; leave it out.
    for (const cycle of cycles) for (const name of cycle.members) fallBack(name, true);
  }
  return active;
}

/**
 * Every cycle of the `after` graph (self-references aside): one per strongly connected component
 * of more than one job (Tarjan's algorithm, iterative so a long chain cannot overflow the stack).
 */
export function findCycles(jobs: Jobs): Cycle[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: Cycle[] = [];
  const parentsOf = (name: string) =>
    (jobs.get(name)?.after?.parents ?? []).map((p) => p.job).filter((p) => p !== name && jobs.has(p));
  for (const start of jobs.keys()) {
    if (index.has(start) || !jobs.get(start)!.after) continue;
    const work: { name: string; parents: string[]; next: number }[] = [
      { name: start, parents: parentsOf(start), next: 0 },
    ];
    index.set(start, index.size);
    low.set(start, index.get(start)!);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      if (frame.next < frame.parents.length) {
        const parent = frame.parents[frame.next++]!;
        if (!index.has(parent)) {
          index.set(parent, index.size);
          low.set(parent, index.get(parent)!);
          stack.push(parent);
          onStack.add(parent);
          work.push({ name: parent, parents: parentsOf(parent), next: 0 });
        } else if (onStack.has(parent))
          low.set(frame.name, Math.min(low.get(frame.name)!, index.get(parent)!));
        continue;
      }
      work.pop();
      const up = work[work.length - 1];
      if (up) low.set(up.name, Math.min(low.get(up.name)!, low.get(frame.name)!));
      if (low.get(frame.name) !== index.get(frame.name)) continue;
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== frame.name);
      if (component.length > 1) cycles.push(walkCycle(component, parentsOf));
    }
  }
  return cycles;
}

/** A strongly connected component of jobs, and one real cycle through it to show. */
export interface Cycle {
  cycle: string[];
  members: ReadonlySet<string>;
}

/** From the component's first member by name, each job's first parent inside it, until one repeats. */
function walkCycle(component: string[], parentsOf: (name: string) => string[]): Cycle {
  const members = new Set(component);
  const path = [[...component].sort()[0]!];
  for (;;) {
    const next = parentsOf(path[path.length - 1]!).find((p) => members.has(p))!;
    const at = path.indexOf(next);
    if (at >= 0) return { cycle: path.slice(at), members };
    path.push(next);
  }
}
