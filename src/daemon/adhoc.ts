/**
 * Ad-hoc commands (SPEC §17): a one-off command runs once on the nodes a policy selects, through
 * the same path as a manual run of a job — placement, node health, per-node max_concurrent_runs,
 * pooled SSH connections, output cap, timeout, recording, Elasticsearch — with trigger `adhoc`
 * and the caller's token name as requested_by.
 *
 * Decisions:
 * - Every ad-hoc run is recorded under the one job name `@adhoc`. A name that no job file can
 *   have ([A-Za-z0-9._-] only) never mixes with a real job's overlap count, last run or
 *   notification state; one name (not one per command) keeps the daemon's per-job state bounded.
 *   `GET /runs?trigger=adhoc` (or `?job=@adhoc`) lists them.
 * - No retries, overlap `allow` (an operator asked for it now), no owners, no notifications
 *   (the caller is waiting for the answer; see notifiesFor).
 * - A policy that selects no node, or names a node that does not exist, is refused (400) before
 *   anything is recorded: for a command typed by hand that is a typo, not an event to keep.
 *   A selected node that is down still gets its `error` run (SPEC §6), as for a job.
 */
import type { JobDef, NodeDef, RunRecord } from '../core/types.js';
import type { AdhocSpec } from '../config/parse-adhoc.js';
import { NO_NOTIFY, NO_PARAMETERS, NO_RETRIES, NO_STRINGS } from '../config/shared-defaults.js';
import { selectCandidates } from '../placement/index.js';
import { ControlError } from './control.js';
import type { Runner } from './runner.js';

/** The job name every ad-hoc run is recorded under. */
export const ADHOC_JOB = '@adhoc';

export interface AdhocRequest {
  spec: AdhocSpec;
  /** The API token's name (null without tokens). */
  requestedBy: string | null;
}

export interface AdhocStarted {
  executionId: string;
  runIds: string[];
  /** The definition the runs carry (its description names the command). */
  job: JobDef;
}

export interface AdhocDeps {
  runner: Pick<Runner, 'runManual' | 'isDraining'>;
  nodes: () => ReadonlyMap<string, NodeDef>;
}

/** Starts the runs; throws ControlError invalid (no such node, no candidate) or unavailable. */
export async function startAdhoc(deps: AdhocDeps, request: AdhocRequest): Promise<AdhocStarted> {
  if (deps.runner.isDraining)
    throw new ControlError('unavailable', 'the daemon is shutting down; no new runs are started');
  const job = adhocJob(request.spec);
  const nodes = deps.nodes();
  const unknown = (job.policy.hosts ?? []).filter((h) => !nodes.has(h));
  if (unknown.length > 0)
    throw new ControlError('invalid', `no such node: ${unknown.join(', ')}`, {
      field: 'policy.hosts',
      nodes: unknown,
    });
  const candidates = selectCandidates(job, nodes);
  if (candidates.reason !== null) throw new ControlError('invalid', candidates.reason, { field: 'policy' });
  const started = await deps.runner.runManual(job, {
    parameters: {},
    requestedBy: request.requestedBy,
    trigger: 'adhoc',
  });
  return { ...started, job };
}

/** The synthetic job an ad-hoc command runs as. */
export function adhocJob(spec: AdhocSpec): JobDef {
  const job: JobDef = {
    name: ADHOC_JOB,
    file: '',
    description: `ad-hoc: ${describeCommand(spec)}`,
    owners: [],
    policy: spec.policy,
    schedule: { kind: 'manual' },
    command: spec.command,
    environment: spec.environment,
    parameters: NO_PARAMETERS,
    retries: NO_RETRIES,
    overlap: 'allow',
    catchUp: 'skip',
    notify: NO_NOTIFY,
    tags: NO_STRINGS,
    enabled: true,
  };
  if (spec.workingDirectory !== undefined) job.workingDirectory = spec.workingDirectory;
  if (spec.timeoutMs !== undefined) job.timeoutMs = spec.timeoutMs;
  return job;
}

const MAX_DESCRIPTION = 200;

/** The command as an operator would recognise it in a log line or a Kibana row (shortened). */
export function describeCommand(spec: AdhocSpec): string {
  const { command } = spec;
  const text =
    command.kind === 'argv'
      ? command.argv.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : JSON.stringify(w))).join(' ')
      : command.kind === 'shell'
        ? command.script
        : command.source;
  const who = command.runAs ? ` (as ${command.runAs})` : '';
  const short = text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION - 1)}…` : text;
  return `${short}${who}`;
}

/**
 * Whether a finished run goes to the notifier. Ad-hoc runs do not: nobody owns them, the caller
 * waits for the result, and one shared `@adhoc` failing/ok state would mean nothing.
 */
export function notifiesFor(run: Pick<RunRecord, 'trigger' | 'job'>): boolean {
  return run.trigger !== 'adhoc' && run.job !== ADHOC_JOB;
}
