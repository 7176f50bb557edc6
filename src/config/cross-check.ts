/** Problems between files: jobs naming nodes or roles that do not exist, broken bastion chains. Pure. */
import type { ConfigProblem, JobDef, NodeDef, ResourcePoolDef } from '../core/types.js';
import { problemAt } from './source-map.js';
import { checkJobPools } from './resource-check.js';

type Defs<T> = ReadonlyMap<string, T> | Iterable<T>;

const valuesOf = <T>(defs: Defs<T>): T[] => [
  ...(defs instanceof Map ? defs.values() : (defs as Iterable<T>)),
];

/** With `pools`, jobs' "resources" are checked against them too. */
export function crossCheck(
  jobs: Defs<JobDef>,
  nodes: Defs<NodeDef>,
  pools?: ReadonlyMap<string, ResourcePoolDef>,
): ConfigProblem[] {
  const index = new NodeIndex(valuesOf(nodes));
  const problems: ConfigProblem[] = [];
  for (const job of valuesOf(jobs)) problems.push(...checkJobAgainst(job, index));
  if (pools) for (const job of valuesOf(jobs)) problems.push(...checkJobPools(job, pools));
  problems.push(...checkNodes(index));
  return problems;
}

/** The nodes as the checks need them: by name, and every role any node has. */
export class NodeIndex {
  readonly byName: Map<string, NodeDef>;
  readonly roles: Set<string>;

  constructor(
    nodes: Iterable<NodeDef>,
    /** Resource pools by name, for jobs' "resources". */
    readonly pools: ReadonlyMap<string, ResourcePoolDef> = new Map(),
  ) {
    const list = [...nodes];
    this.byName = new Map(list.map((n) => [n.name, n]));
    this.roles = new Set(list.flatMap((n) => n.roles));
  }
}

export function checkNodes(index: NodeIndex): ConfigProblem[] {
  return [...index.byName.values()].flatMap((node) => checkJump(node, index.byName));
}

/** Every job is checked on each change of the nodes: the common, clean case allocates nothing. */
export function checkJobAgainst(job: JobDef, index: NodeIndex): ConfigProblem[] {
  const hosts = job.policy.hosts ?? NONE;
  const roles = job.policy.roles ?? NONE;
  if (hosts.every((h) => index.byName.has(h)) && roles.every((r) => index.roles.has(r))) return [];
  return problemsAgainst(job, index);
}

const NONE: readonly string[] = [];

function problemsAgainst(job: JobDef, index: NodeIndex): ConfigProblem[] {
  const nodes = index.byName;
  const roles = index.roles;
  const problems: ConfigProblem[] = [];
  (job.policy.hosts ?? []).forEach((host, i) => {
    if (!nodes.has(host))
      problems.push(
        problemAt(
          job,
          ['policy', 'hosts', i],
          `"policy.hosts" names "${host}", but no node "${host}" exists; add nodes.d/${host}.json or fix the name`,
          'error',
        ),
      );
  });
  (job.policy.roles ?? []).forEach((role, i) => {
    if (!roles.has(role))
      problems.push(
        problemAt(
          job,
          ['policy', 'roles', i],
          `no node has role "${role}", so it matches nothing yet; add it to a node's "roles" or fix the name`,
          'warning',
        ),
      );
  });
  return problems;
}

function checkJump(node: NodeDef, nodes: Map<string, NodeDef>): ConfigProblem[] {
  const connection = node.connection;
  if (connection.type !== 'ssh' || connection.jump === undefined) return [];
  const bastion = nodes.get(connection.jump);
  const fail = (message: string) => [problemAt(node, ['connection_options', 'ssh_jump'], message, 'error')];
  if (!bastion) return fail(`"ssh_jump" names "${connection.jump}", but no node "${connection.jump}" exists`);
  if (bastion.connection.type !== 'ssh')
    return fail(`"ssh_jump" names "${connection.jump}", which is not an ssh node`);
  const loop = jumpLoop(node, nodes);
  return loop
    ? fail(
        `"ssh_jump" chain loops (${loop.join(' → ')}); a bastion chain must end at a node without "ssh_jump"`,
      )
    : [];
}

function jumpLoop(start: NodeDef, nodes: Map<string, NodeDef>): string[] | undefined {
  const seen = [start.name];
  let current = start;
  while (current.connection.type === 'ssh' && current.connection.jump !== undefined) {
    const next = nodes.get(current.connection.jump);
    if (!next) return undefined;
    if (seen.includes(next.name)) return [...seen, next.name];
    seen.push(next.name);
    current = next;
  }
  return undefined;
}
