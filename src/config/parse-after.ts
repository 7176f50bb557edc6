/**
 * A job's `after` (its parents) and `window` → DependencySpec (SPEC §16). Pure. Whether each
 * parent exists, and whether the parents form a cycle, is checked across files
 * (dependency-graph.ts).
 */
import type { Dependency, DependencySpec } from '../core/types.js';
import {
  arrayItems,
  objectFields,
  readDuration,
  readEnum,
  readString,
  type Fields,
  type Located,
  type ProblemSink,
} from './checks.js';
import { nameProblem } from './names.js';

export const DEFAULT_WINDOW_MS = 24 * 3_600_000;
const DEPENDENCY_FIELDS = ['job', 'on', 'hosts'];
const ON = ['success', 'failure', 'done'] as const;
const HOSTS = ['all', 'any'] as const;

/** `after` and `window` of a job file; undefined when it has no `after` (or it does not parse). */
export function parseAfter(sink: ProblemSink, fields: Fields): DependencySpec | undefined {
  const afterField = fields.get('after');
  const windowField = fields.get('window');
  if (!afterField) {
    if (windowField)
      sink.warn(windowField, '"window" applies only to a job with "after"; it is ignored here');
    return undefined;
  }
  const parents = readParents(sink, afterField);
  const windowMs = windowField ? readDuration(sink, windowField) : DEFAULT_WINDOW_MS;
  if (parents === undefined || windowMs === undefined) return undefined;
  return parents.length === 0 ? undefined : { parents, windowMs };
}

function readParents(sink: ProblemSink, at: Located): Dependency[] | undefined {
  const items = arrayItems(sink, at, 'an array like [{"job": "backup", "on": "success"}]');
  if (!items) return undefined;
  const parents: Dependency[] = [];
  let ok = true;
  for (const item of items) {
    const parent = readDependency(sink, item);
    if (!parent) ok = false;
    else if (parents.some((p) => p.job === parent.job)) {
      sink.error(item, `"${parent.job}" is listed twice in "after"; keep one entry per parent`);
      ok = false;
    } else parents.push(parent);
  }
  return ok ? parents : undefined;
}

function readDependency(sink: ProblemSink, at: Located): Dependency | undefined {
  const fields = objectFields(sink, at, DEPENDENCY_FIELDS);
  if (!fields) return undefined;
  const jobField = fields.get('job');
  if (!jobField) return sink.error(at, 'each "after" entry needs "job", e.g. {"job": "backup"}');
  const job = readString(sink, jobField, { nonEmpty: true });
  const badName = job === undefined ? undefined : nameProblem(job);
  if (badName) return sink.error(jobField, `"${job}" is not a job name: ${badName}`);
  const onField = fields.get('on');
  const hostsField = fields.get('hosts');
  const on = onField ? readEnum(sink, onField, ON) : 'success';
  const hosts = hostsField ? readEnum(sink, hostsField, HOSTS) : 'all';
  if (job === undefined || on === undefined || hosts === undefined) return undefined;
  return { job, on, hosts };
}
