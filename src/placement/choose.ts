import type { JobPolicy, NodeDef } from '../core/types.js';

/** What placement knows about a node at the moment of choosing. */
export interface NodeLoad {
  up: boolean;
  /** distcron runs currently in flight on the node (all jobs). */
  inFlight: number;
  /** Last time a run was placed there (epoch ms; 0 = never). */
  lastUsedAt: number;
}

export interface ChooseInput {
  candidates: NodeDef[];
  placement: JobPolicy['placement'];
  load: (node: string) => NodeLoad;
  /** Per-job round-robin counter (the caller persists it in memory and passes it back). */
  roundRobinCursor: number;
  /** Uniform [0, 1). */
  random: () => number;
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
      return { ordered: byLeastLoaded(nodes, input.load), cursor };
  }
}

function rotate<T>(items: T[], by: number): T[] {
  return [...items.slice(by), ...items.slice(0, by)];
}

/** Fewest runs in flight first; ties go to the least recently used, then to name order. */
function byLeastLoaded(nodes: NodeDef[], load: (node: string) => NodeLoad): NodeDef[] {
  return [...nodes].sort((a, b) => {
    const la = load(a.name);
    const lb = load(b.name);
    return la.inFlight - lb.inFlight || la.lastUsedAt - lb.lastUsedAt || (a.name < b.name ? -1 : 1);
  });
}
