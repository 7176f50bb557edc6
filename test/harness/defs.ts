import type { JobDef, NodeDef } from '../../src/core/types.js';

/** A valid local node definition with overrides. */
export function nodeDef(name: string, overrides: Partial<NodeDef> = {}): NodeDef {
  return {
    name,
    file: `/nodes.d/${name}.json`,
    roles: [],
    labels: {},
    connection: { type: 'local' },
    maxConcurrentRuns: 8,
    disabled: false,
    ...overrides,
  };
}

/** A valid job definition (manual, `true` on role "web") with overrides. */
export function jobDef(name: string, overrides: Partial<JobDef> = {}): JobDef {
  return {
    name,
    file: `/jobs.d/${name}.json`,
    owners: [],
    policy: { select: 'any', roles: ['web'], rolesMatch: 'any', labels: {}, placement: 'least_loaded' },
    schedule: { kind: 'manual' },
    command: { kind: 'argv', argv: ['true'] },
    environment: {},
    parameters: {},
    retries: { count: 0, delayMs: 0 },
    overlap: 'skip',
    catchUp: 'latest',
    notify: { on: [], email: [], webhooks: [] },
    tags: [],
    enabled: true,
    ...overrides,
  };
}
