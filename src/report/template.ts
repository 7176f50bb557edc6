import { INDEX_PREFIX } from './document.js';

export const INDEX_TEMPLATE_NAME = 'distcron-runs';
export const INDEX_PATTERN = `${INDEX_PREFIX}*`;
/** Bump when the mapping changes: start-up installs the template only when the cluster's is older. */
export const TEMPLATE_VERSION = 2;

const keyword = { type: 'keyword', ignore_above: 1024 } as const;
const date = { type: 'date' } as const;
/** Output and error text: searchable, no scoring norms (nobody ranks runs by relevance). */
const text = { type: 'text', norms: false } as const;

/** Field name → Elasticsearch type, the contract the Kibana objects and the tests check. */
export const RUN_FIELD_TYPES = {
  '@timestamp': 'date',
  run_id: 'keyword',
  execution_id: 'keyword',
  job: 'keyword',
  node: 'keyword',
  host: 'keyword',
  trigger: 'keyword',
  status: 'keyword',
  tags: 'keyword',
  signal: 'keyword',
  attempt: 'integer',
  exit_code: 'integer',
  duration_ms: 'long',
  lateness_ms: 'long',
  scheduled_at: 'date',
  started_at: 'date',
  finished_at: 'date',
  stdout: 'text',
  stderr: 'text',
  error: 'text',
  description: 'text',
  output_truncated: 'boolean',
  // Any parameter names a job declares, searchable as parameters.NAME without a mapping per name.
  parameters: 'flattened',
  requested_by: 'keyword',
  parent_runs: 'keyword',
  script_sha256: 'keyword',
  member: 'keyword',
} as const;

export type RunField = keyof typeof RUN_FIELD_TYPES;

function mappingFor(type: string): Record<string, unknown> {
  switch (type) {
    case 'keyword':
      return keyword;
    case 'date':
      return date;
    case 'text':
      return text;
    default:
      return { type };
  }
}

function runProperties(): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [field, type] of Object.entries(RUN_FIELD_TYPES)) properties[field] = mappingFor(type);
  // Errors are short and repeat: a keyword sub-field lets Kibana count runs by error message.
  properties.error = { ...text, fields: { keyword } };
  return properties;
}

/** Body of `PUT _index_template/distcron-runs` (composable template, ES 7.8+ / 8.x / 9.x). */
export function runsIndexTemplate(): {
  index_patterns: string[];
  priority: number;
  version: number;
  _meta: Record<string, unknown>;
  template: { settings: Record<string, unknown>; mappings: Record<string, unknown> };
} {
  return {
    index_patterns: [INDEX_PATTERN],
    priority: 200,
    version: TEMPLATE_VERSION,
    _meta: { managed_by: 'distcron', description: 'distcron run reports, one index per month' },
    template: {
      // Deliberately not set, for bulk indexing speed: refresh_interval (left unset, an index
      // nobody searches for 30 s skips refreshes; an explicit 1s would refresh it anyway) and
      // number_of_replicas (on a single node a replica is never allocated, so it costs no
      // indexing, only a yellow health; an operator who wants green sets it to 0 on the
      // distcron-runs-* indices). translog.durability stays `request`: a bulk is acknowledged
      // only once it is on disk, which is what lets the shipper delete it from the outbox.
      settings: { 'index.number_of_shards': 1 },
      // Unknown fields are kept in _source but not indexed, so a newer daemon never causes conflicts.
      mappings: { dynamic: false, properties: runProperties() },
    },
  };
}
