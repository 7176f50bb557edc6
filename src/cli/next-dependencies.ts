/**
 * `distcron next` for a job with "after" (SPEC §16): its parents from the job file, and from the
 * running daemon's API which of them its next round still waits for.
 */
import { formatDuration } from '../core/duration.js';
import type { JobDef } from '../core/types.js';
import { apiCall, ClientError, type ApiTarget } from './client-http.js';

/** GET /api/v1/jobs/{name}/dependencies, as far as `next` prints it. */
interface RoundJson {
  round: number | null;
  last_fired_at: string | null;
  parents: {
    job: string;
    counts_after: string;
    completion: { completed_at: string; run_ids: string[]; hosts: number; succeeded: number } | null;
  }[];
  waiting_for: string[];
}

export function describeAfter(job: JobDef): string[] {
  const spec = job.after;
  if (!spec) return [];
  const parents = spec.parents.map((p) => `${p.job} (${p.on}${p.hosts === 'any' ? ', any host' : ''})`);
  const window = formatDuration(spec.windowMs);
  return [`  runs after: ${parents.join(' AND ')} (a completion older than ${window} no longer counts)`];
}

/** The round's state lines, or a line saying why it is unknown (no daemon reachable). */
export async function roundLines(
  job: JobDef,
  target: ApiTarget,
): Promise<{ lines: string[]; round?: RoundJson }> {
  if (!job.after) return { lines: [] };
  try {
    const path = `/api/v1/jobs/${encodeURIComponent(job.name)}/dependencies`;
    const round = await apiCall<RoundJson>(target, 'GET', path);
    const lines = [`  round ${round.round ?? '-'} (the last fired ${round.last_fired_at ?? 'never'}):`];
    for (const p of round.parents) {
      const c = p.completion;
      lines.push(
        c
          ? `    ${p.job}: completed ${c.completed_at} (${c.succeeded}/${c.hosts} hosts succeeded)`
          : `    ${p.job}: waiting (no completion that counts after ${p.counts_after})`,
      );
    }
    return { lines, round };
  } catch (err) {
    if (!(err instanceof ClientError)) throw err;
    return { lines: [`  round state unknown: ${err.message.split('\n')[0]}`] };
  }
}
