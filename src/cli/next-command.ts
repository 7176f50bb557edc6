import { loadConfig } from '../config/load.js';
import { withDefaults, type DaemonOptions } from '../daemon/options.js';
import { compileSchedule } from '../schedule/index.js';
import type { ApiTarget } from './client-http.js';
import { describeAfter, roundLines } from './next-dependencies.js';

export interface NextOptions extends Partial<DaemonOptions> {
  job: string;
  count: number;
  json: boolean;
  now?: number;
  out?: (line: string) => void;
  /** The daemon asked what a dependent job's round waits for. */
  target?: ApiTarget;
}

/** `distcron next JOB -n N`: the next N fire instants after now, from the job files alone. */
export async function runNext(options: NextOptions): Promise<number> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const o = withDefaults(options);
  const config = await loadConfig({ jobsDir: o.jobsDir, nodesDir: o.nodesDir, defaultTimezone: o.timezone });
  const job = config.jobs.get(options.job);
  if (!job) {
    out(`distcron: no job named "${options.job}" in ${o.jobsDir}`);
    return 1;
  }
  const schedule = compileSchedule(job.schedule, { jobName: job.name, defaultTimezone: o.timezone });
  const times: string[] = [];
  for (
    let t = schedule.nextAfter(options.now ?? Date.now());
    t !== null && times.length < options.count;
    t = schedule.nextAfter(t)
  ) {
    times.push(new Date(t).toISOString());
  }
  const round = options.target ? await roundLines(job, options.target) : { lines: [] };
  if (options.json) {
    const after = job.after ? { after: job.after.parents, dependencies: round.round ?? null } : {};
    out(JSON.stringify({ job: job.name, schedule: schedule.describe(), next: times, ...after }));
  } else {
    out(`${job.name}: ${schedule.describe()}`);
    for (const t of times) out(`  ${t}`);
    if (times.length === 0 && !job.after) out('  (no upcoming fire: manual or past one-off)');
    for (const line of [...describeAfter(job), ...round.lines]) out(line);
  }
  return 0;
}
