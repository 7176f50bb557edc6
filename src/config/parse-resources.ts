/**
 * Shared resource pools (SPEC §16): a `resources.d/<name>.json` file → ResourcePoolDef, and a
 * job's `"resources"` / `"resource_wait"` fields. Every problem is located. Pure.
 */
import type { ConfigProblem, JobDef, ResourceClaim, ResourcePoolDef } from '../core/types.js';
import {
  checkDocument,
  objectFields,
  readDuration,
  readInteger,
  readString,
  wrongType,
  type Fields,
  type Located,
  type ProblemSink,
} from './checks.js';
import { configNameOf, nameProblem } from './names.js';

const POOL_FIELDS = ['capacity', 'per_minute', 'description'];
/** Far above any real pool; keeps sums of amounts exact integers. */
export const MAX_POOL_SIZE = 1_000_000;
/** The job-side spelling of a per-host pool: `"<pool>@{node}"`. */
export const PER_NODE_SUFFIX = '@{node}';

export function parseResourceText(
  file: string,
  text: string,
): { pool?: ResourcePoolDef; problems: ConfigProblem[] } {
  const name = configNameOf(file);
  const { def, problems } = checkDocument(file, text, (sink, root) => poolFromTree(sink, root, name, file));
  return def ? { pool: def, problems } : { problems };
}

function poolFromTree(
  sink: ProblemSink,
  root: Located,
  name: string,
  file: string,
): ResourcePoolDef | undefined {
  if (root.node.type !== 'object') return wrongType(sink, root, 'a JSON object (a resource pool)');
  const fields = objectFields(sink, root, POOL_FIELDS);
  if (!fields) return undefined;
  const pool: ResourcePoolDef = { name, file };
  const capacity = readLimit(sink, fields.get('capacity'));
  const perMinute = readLimit(sink, fields.get('per_minute'));
  if (capacity !== undefined) pool.capacity = capacity;
  if (perMinute !== undefined) pool.perMinute = perMinute;
  const description = fields.get('description');
  if (description) pool.description = readString(sink, description);
  if (!fields.has('capacity') && !fields.has('per_minute'))
    return sink.error(
      root,
      'a pool needs "capacity" (units held at once), "per_minute" (units acquired in any 60 s) or both, e.g. {"capacity": 2}',
    );
  return pool;
}

function readLimit(sink: ProblemSink, at: Located | undefined): number | undefined {
  return at ? readInteger(sink, at, 1, MAX_POOL_SIZE) : undefined;
}

/** Reads `"resources"` and `"resource_wait"` into `job`; problems go to `sink`. */
export function applyResourceFields(sink: ProblemSink, fields: Fields, job: JobDef): void {
  const resources = fields.get('resources');
  if (resources) {
    const claims = readClaims(sink, resources);
    if (claims && claims.length > 0) job.resources = claims;
  }
  const wait = fields.get('resource_wait');
  if (!wait) return;
  const ms = readDuration(sink, wait);
  if (ms !== undefined) job.resourceWaitMs = ms;
  if (!resources) sink.warn(wait, '"resource_wait" has no effect without "resources"');
}

function readClaims(sink: ProblemSink, at: Located): ResourceClaim[] | undefined {
  if (at.node.type !== 'object')
    return wrongType(sink, at, 'an object of "pool": units', 'e.g. {"db-conn": 1}');
  const claims: ResourceClaim[] = [];
  let ok = true;
  for (const [key, field] of memberEntries(at)) {
    const claim = readClaim(sink, key, field);
    if (claim) claims.push(claim);
    else ok = false;
  }
  return ok ? claims : undefined;
}

/** Every member of an object (duplicate keys were refused when the document was parsed). */
function memberEntries(at: Located): [string, Located][] {
  return (at.node.children ?? []).flatMap((property) => {
    const [keyNode, valueNode] = property.children ?? [];
    if (!keyNode || !valueNode) return [];
    const key = String(keyNode.value);
    return [[key, { node: valueNode, key: keyNode, parent: at, segment: key }] as [string, Located]];
  });
}

function readClaim(sink: ProblemSink, key: string, field: Located): ResourceClaim | undefined {
  const perNode = key.endsWith(PER_NODE_SUFFIX);
  const pool = perNode ? key.slice(0, -PER_NODE_SUFFIX.length) : key;
  const bad = nameProblem(pool);
  if (bad)
    return sink.errorAtKey(
      field,
      `resource "${key}": pool ${bad}; write a pool name (resources.d/<pool>.json), or "<pool>@{node}" for one pool per host`,
    );
  const amount = readInteger(sink, field, 1, MAX_POOL_SIZE);
  return amount === undefined ? undefined : { pool, perNode, amount };
}

/** The pool a claim takes from on `node` (per-host pools get the node's name). */
export function poolKey(claim: ResourceClaim, node: string): string {
  return claim.perNode ? `${claim.pool}@${node}` : claim.pool;
}
