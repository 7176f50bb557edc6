import type { Request, Response } from 'express';
import type { CommandSpec, JobDef, RunRecord, ScheduleSpec } from '../core/types.js';
import type { JobView, NodeView } from '../daemon/control.js';
import { ApiError } from './errors.js';
import { pathParam, readQuery } from './request.js';
import type { ApiRoute, RouteContext } from './routes.js';

/**
 * distcrond's read routes, with its response shapes (server/*resource.go, domain/report.go):
 * tools written against distcrond keep working. Dates are ISO-8601 strings where distcrond
 * printed Go's time.String(); `timestamp` stays nanoseconds since the epoch.
 */

const REPORT_RUNS = 100;

function origin(req: Request): string {
  return `http://${req.headers.host ?? 'localhost'}`;
}

function dateResource(iso: string | null | undefined) {
  if (!iso) return null;
  return { timestamp: Date.parse(iso) * 1e6, string: iso };
}

function executionPolicy(policy: JobDef['policy']) {
  return policy.roles && policy.roles.length > 0
    ? { select: policy.select, roles: policy.roles }
    : { select: policy.select, hosts: policy.hosts ?? [] };
}

function legacyJob(view: JobView, base: string) {
  const def = view.definition;
  const href = `${base}/jobs/${encodeURIComponent(view.name)}`;
  return {
    name: view.name,
    href,
    links: [{ href: `${href}/reports`, rel: 'reports' }],
    description: def.description ?? '',
    owners: def.owners.map((o) => ({ name: o.name ?? '', email_address: o.email })),
    execution_policy: executionPolicy(def.policy),
    execution_schedule: writtenSchedule(def.schedule),
    command: legacyCommand(def.command),
    last_execution: dateResource(view.lastRun?.started_at ?? view.lastRun?.scheduled_at),
    next_execution: dateResource(view.nextFireTimes[0]),
  };
}

/**
 * The schedule in the words of a job file, for distcrond's tools that parse it: the cron
 * string, "@manual", "@every <Go duration>", else the file's object form as JSON.
 */
export function writtenSchedule(spec: ScheduleSpec): string {
  switch (spec.kind) {
    case 'manual':
      return '@manual';
    case 'cron':
      return spec.expression;
    case 'every':
      return `@every ${goDuration(spec.intervalMs)}`;
    case 'interval':
      return JSON.stringify({
        interval: goDuration(spec.intervalMs),
        reference: spec.reference,
        timezone: spec.timezone,
      });
    case 'fuzzy':
      return JSON.stringify({
        fuzzy: typeof spec.period === 'string' ? spec.period : goDuration(spec.period.everyMs),
        window: spec.window ? `${spec.window.start}-${spec.window.end}` : undefined,
        timezone: spec.timezone,
      });
    case 'at':
      return JSON.stringify({ at: new Date(spec.at).toISOString() });
  }
}

function legacyNode(view: NodeView, base: string) {
  return {
    name: view.name,
    href: `${base}/nodes/${encodeURIComponent(view.name)}`,
    roles: view.roles,
    status: view.health.up ? 'up' : 'down',
    running_jobs: view.runsInFlight,
  };
}

/** Go's time.Duration.String() for a millisecond count ("250ms", "1m30.5s", "2h0m0s"). */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = `${Number(((ms % 60_000) / 1000).toFixed(3))}s`;
  if (h > 0) return `${h}h${m}m${s}`;
  return m > 0 ? `${m}m${s}` : s;
}

function timePair(start: string | null, stop: string | null) {
  return { start: start ?? '', stop: stop ?? '' };
}

function durationOf(start: string | null, stop: string | null) {
  const ms = start && stop ? Math.max(0, Date.parse(stop) - Date.parse(start)) : 0;
  return { milliseconds: ms, string: goDuration(ms) };
}

function reportItem(run: RunRecord) {
  const start = run.started_at ?? run.scheduled_at;
  return {
    time: timePair(start, run.finished_at),
    duration: durationOf(start, run.finished_at),
    success: run.status === 'succeeded',
    output: run.stdout + run.stderr,
    node: run.node ?? '',
  };
}

/** One distcrond report per execution (the runs of one fire of the job). */
function legacyReports(job: string, runs: RunRecord[]) {
  const byExecution = new Map<string, RunRecord[]>();
  for (const run of runs)
    byExecution.set(run.execution_id, [...(byExecution.get(run.execution_id) ?? []), run]);
  return [...byExecution.values()].map((group) => {
    const items = group.map(reportItem);
    const start =
      items
        .map((i) => i.time.start)
        .filter(Boolean)
        .sort()[0] ?? null;
    const stop =
      items
        .map((i) => i.time.stop)
        .filter(Boolean)
        .sort()
        .pop() ?? null;
    return {
      job,
      time: timePair(start, stop),
      duration: durationOf(start, stop),
      success: items.every((i) => i.success),
      items,
    };
  });
}

async function legacyJobView(ctx: RouteContext, req: Request): Promise<JobView> {
  readQuery(req, []);
  const name = pathParam(req, 'job');
  const job = await ctx.control.getJob(name);
  if (!job) throw new ApiError(404, 'not_found', `api: no job named "${name}"`);
  return job;
}

async function legacyNodeView(ctx: RouteContext, req: Request): Promise<NodeView> {
  readQuery(req, []);
  const name = pathParam(req, 'node');
  const node = await ctx.control.getNode(name);
  if (!node) throw new ApiError(404, 'not_found', `api: no node named "${name}"`);
  return node;
}

export const legacyRoutes: ApiRoute[] = [
  {
    method: 'get',
    path: '/',
    role: 'read',
    handle: (_ctx, req, res: Response) => {
      readQuery(req, []);
      const base = origin(req);
      res.json({
        links: [
          { href: `${base}/jobs`, rel: 'jobs' },
          { href: `${base}/nodes`, rel: 'nodes' },
        ],
      });
    },
  },
  {
    method: 'get',
    path: '/jobs',
    role: 'read',
    handle: async (ctx, req, res) => {
      readQuery(req, []);
      const base = origin(req);
      res.json((await ctx.control.listJobs()).map((j) => legacyJob(j, base)));
    },
  },
  {
    method: 'get',
    path: '/jobs/:job',
    role: 'read',
    handle: async (ctx, req, res) => void res.json(legacyJob(await legacyJobView(ctx, req), origin(req))),
  },
  {
    method: 'get',
    path: '/jobs/:job/reports',
    role: 'read',
    handle: async (ctx, req, res) => {
      const job = await legacyJobView(ctx, req);
      const page = await ctx.control.listRuns({ job: job.name, limit: REPORT_RUNS, withOutput: true });
      res.json(legacyReports(job.name, page.runs));
    },
  },
  {
    method: 'get',
    path: '/nodes',
    role: 'read',
    handle: async (ctx, req, res) => {
      readQuery(req, []);
      const base = origin(req);
      res.json((await ctx.control.listNodes()).map((n) => legacyNode(n, base)));
    },
  },
  {
    method: 'get',
    path: '/nodes/:node',
    role: 'read',
    handle: async (ctx, req, res) => void res.json(legacyNode(await legacyNodeView(ctx, req), origin(req))),
  },
];

/** distcrond's `command` is an argv; a script job shows as its interpreter, script path and args. */
function legacyCommand(command: CommandSpec): string[] {
  if (command.kind === 'argv') return command.argv;
  if (command.kind === 'shell') return ['/bin/sh', '-c', command.script];
  return [...command.interpreter, command.source, ...command.args];
}
