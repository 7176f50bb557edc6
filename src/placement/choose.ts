import type { JobPolicy, NodeDef } from '../core/types.js';

/** What placement knows about a node at the moment of choosing. */
export interface NodeLoad {
  up: boolean;
  /** distcron runs currently in flight on the node (all jobs). */
  inFlight: number;
}

export interface ChooseInput {
  candidates: NodeDef[];
  placement: JobPolicy['placement'];
  load: (node: string) => NodeLoad;
  /** Per-job round-robin counter (the caller persists it in memory and passes it back). */
  roundRobinCursor: number;
  /** Uniform [0, 1). */
  random: () => number;
  /** When this job last used each node, as an order (see PlacementHistory; 0 = never). */
  jobLastUse: (node: string) => number;
  /** Nodes to try last (e.g. the node a failed attempt ran on: retries prefer another node). */
  avoid?: ReadonlySet<string>;
}

export interface ChooseResult {
  /** Every up candidate, best first: try in order, moving on when connecting fails. */
  order: NodeDef[];
  nextRoundRobinCursor: number;
}

/** Order of nodes to try for an `any` job (SPEC §6). Down nodes are not tried. */
export function orderForAny(input: ChooseInput): ChooseResult {
  const up = input.candidates.filter((n) => input.load(n.name).up);
  const preferred = up.filter((n) => !input.avoid?.has(n.name));
  const avoided = up.filter((n) => input.avoid?.has(n.name));
  const { ordered, cursor } = orderBy(preferred, input);
  return { order: [...ordered, ...avoided], nextRoundRobinCursor: cursor };
}

function orderBy(nodes: NodeDef[], input: ChooseInput): { ordered: NodeDef[]; cursor: number } {
  const cursor = input.roundRobinCursor;
  if (nodes.length === 0) return { ordered: [], cursor };
  switch (input.placement) {
    case 'round_robin':
      return { ordered: rotate(nodes, cursor % nodes.length), cursor: cursor + 1 };
    case 'random':
      return { ordered: rotate(nodes, Math.floor(input.random() * nodes.length)), cursor };
    case 'least_loaded':
      return { ordered: byLeastLoaded(nodes, input), cursor };
  }
}

function rotate<T>(items: T[], by: number): T[] {
  return [...items.slice(by), ...items.slice(0, by)];
}

/**
 * Fewest runs in flight first; ties go to the node this job used least recently, then to a
 * random one — never to name order, which piles every tie onto the first host when another
 * job's fan-out keeps all hosts equally busy.
 */
function byLeastLoaded(nodes: NodeDef[], input: ChooseInput): NodeDef[] {
  const keyed = nodes.map((node) => ({
    node,
    inFlight: input.load(node.name).inFlight,
    used: input.jobLastUse(node.name),
    draw: input.random(),
  }));
  keyed.sort((a, b) => a.inFlight - b.inFlight || a.used - b.used || a.draw - b.draw);
  return keyed.map((k) => k.node);
}
