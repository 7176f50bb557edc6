/** The `policy` field of a job (both distcrond forms) → JobPolicy. Pure. */
import type { JobPolicy } from '../core/types.js';
import {
  objectFields,
  readEnum,
  readInteger,
  readStringArray,
  readStringMap,
  type Fields,
  type Located,
  type ProblemSink,
} from './checks.js';
import { NO_LABELS } from './shared-defaults.js';

const POLICY_FIELDS = ['select', 'hosts', 'roles', 'roles_match', 'labels', 'placement', 'max_parallel'];
const SELECT = ['any', 'all'] as const;

export function parsePolicy(
  sink: ProblemSink,
  at: Located | undefined,
  anchor: Located,
): JobPolicy | undefined {
  if (!at)
    return sink.error(
      anchor,
      'missing "policy"; add e.g. "policy": {"select": "any", "roles": ["web"]} or {"hosts": ["db1"]}',
    );
  const fields = objectFields(sink, at, POLICY_FIELDS);
  if (!fields) return undefined;
  const errorsBefore = sink.errorCount;
  const select = readSelect(sink, fields);
  const policy: JobPolicy = {
    select: select ?? 'any',
    rolesMatch: 'any',
    labels: NO_LABELS,
    placement: 'least_loaded',
  };
  readTargets(sink, at, fields, policy);
  readTuning(sink, fields, policy);
  return sink.errorCount === errorsBefore ? policy : undefined;
}

/** `select`, or the README form's string-valued `hosts` ("any" / "all"). */
function readSelect(sink: ProblemSink, fields: Fields): JobPolicy['select'] | undefined {
  const selectField = fields.get('select');
  const hostsField = fields.get('hosts');
  const select = selectField ? readEnum(sink, selectField, SELECT) : undefined;
  if (hostsField?.node.type !== 'string') return select;
  const legacy = readEnum(sink, hostsField, SELECT);
  if (legacy && select && legacy !== select)
    return sink.error(hostsField, `"hosts": "${legacy}" contradicts "select": "${select}"; keep one of them`);
  return legacy ?? select;
}

function readTargets(sink: ProblemSink, at: Located, fields: Fields, policy: JobPolicy): void {
  const hostsField = fields.get('hosts');
  const hostList = hostsField && hostsField.node.type !== 'string' ? hostsField : undefined;
  const rolesField = fields.get('roles');
  const labelsField = fields.get('labels');
  if (hostList) {
    policy.hosts = readStringArray(sink, hostList, { nonEmpty: true });
    if (rolesField) sink.errorAtKey(rolesField, 'give either "hosts" (node names) or "roles", not both');
    if (labelsField)
      sink.errorAtKey(labelsField, '"labels" only filter "roles"-based selection; remove it or "hosts"');
  } else if (rolesField) {
    policy.roles = readStringArray(sink, rolesField, { nonEmpty: true });
  } else if (!labelsField) {
    sink.error(at, '"policy" needs "hosts" (node names), "roles" or "labels" to choose nodes');
  }
  if (labelsField) policy.labels = readStringMap(sink, labelsField) ?? {};
  const matchField = fields.get('roles_match');
  if (matchField) policy.rolesMatch = readEnum(sink, matchField, SELECT) ?? 'any';
  if (matchField && !rolesField) sink.warn(matchField, '"roles_match" has no effect without "roles"');
}

function readTuning(sink: ProblemSink, fields: Fields, policy: JobPolicy): void {
  const placementField = fields.get('placement');
  if (placementField) {
    policy.placement =
      readEnum(sink, placementField, ['least_loaded', 'round_robin', 'random'] as const) ?? 'least_loaded';
    if (policy.select === 'all')
      sink.warn(placementField, '"placement" only applies to "select": "any"; it is ignored');
  }
  const parallelField = fields.get('max_parallel');
  if (parallelField) {
    const maxParallel = readInteger(sink, parallelField, 1, 100_000);
    if (maxParallel !== undefined) policy.maxParallel = maxParallel;
    if (policy.select === 'any')
      sink.warn(parallelField, '"max_parallel" only applies to "select": "all"; it is ignored');
  }
}
