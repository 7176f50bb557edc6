import type { RunRecord } from './types.js';

/**
 * The run's later facts under the `runs` table's column names (the record names them in
 * camelCase), null when absent: one mapping for the API's run summary and the Elasticsearch
 * document, so the two never drift apart.
 */
export interface RunFactsJson {
  /** A manual run's parameter values (or a scheduled run's defaults); null when none are declared. */
  parameters: Record<string, string> | null;
  requested_by: string | null;
  parent_runs: string[] | null;
  script_sha256: string | null;
  member: string | null;
}

export function runFactsJson(run: RunRecord): RunFactsJson {
  return {
    parameters: run.parameters ?? null,
    requested_by: run.requestedBy ?? null,
    parent_runs: run.parentRuns ?? null,
    script_sha256: run.scriptSha256 ?? null,
    member: run.member ?? null,
  };
}
