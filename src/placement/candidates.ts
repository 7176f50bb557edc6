import type { JobDef, NodeDef } from '../core/types.js';

export interface CandidateSet {
  /** Enabled nodes the job may run on, in a stable order (hosts order, else by name). */
  nodes: NodeDef[];
  /** Why there are none, for the `error` run record. */
  reason: string | null;
}

/** SPEC §6: `policy.hosts` if given, else nodes matching roles/labels; minus disabled nodes. */
export function selectCandidates(job: JobDef, nodes: ReadonlyMap<string, NodeDef>): CandidateSet {
  const matched = job.policy.hosts ? byHosts(job.policy.hosts, nodes) : byRolesAndLabels(job, nodes);
  const enabled = matched.filter((n) => !n.disabled);
  if (enabled.length > 0) return { nodes: enabled, reason: null };
  return { nodes: [], reason: noCandidateReason(job, matched.length) };
}

function byHosts(hosts: string[], nodes: ReadonlyMap<string, NodeDef>): NodeDef[] {
  const found: NodeDef[] = [];
  for (const name of new Set(hosts)) {
    const node = nodes.get(name);
    if (node) found.push(node);
  }
  return found;
}

function byRolesAndLabels(job: JobDef, nodes: ReadonlyMap<string, NodeDef>): NodeDef[] {
  const { roles, rolesMatch, labels } = job.policy;
  return [...nodes.values()]
    .filter((node) => matchesRoles(node, roles, rolesMatch) && matchesLabels(node, labels))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function matchesRoles(node: NodeDef, roles: string[] | undefined, mode: 'any' | 'all'): boolean {
  if (!roles || roles.length === 0) return true;
  return mode === 'all'
    ? roles.every((r) => node.roles.includes(r))
    : roles.some((r) => node.roles.includes(r));
}

function matchesLabels(node: NodeDef, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => node.labels[k] === v);
}

function noCandidateReason(job: JobDef, disabledMatches: number): string {
  const wanted = job.policy.hosts
    ? `hosts ${job.policy.hosts.join(', ')}`
    : `roles ${(job.policy.roles ?? []).join(', ') || '(any)'}` +
      (Object.keys(job.policy.labels).length ? ` and labels ${JSON.stringify(job.policy.labels)}` : '');
  if (disabledMatches > 0) return `no candidate node: every node matching ${wanted} is disabled`;
  return `no candidate node: no node matches ${wanted}`;
}
