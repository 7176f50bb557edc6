import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `count` job files that do not fire during a benchmark (yearly in January, a far one-off, H
 * tokens, fuzzy windows), in a realistic mix of every schedule form, spread over subdirectories.
 */
export function generateJobs(dir: string, count: number): void {
  rmSync(dir, { recursive: true, force: true });
  const perDir = 1000;
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `team-${Math.floor(i / perDir)}`);
    if (i % perDir === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `job-${i}.json`), JSON.stringify(jobBody(i)));
  }
}

function jobBody(i: number): object {
  const schedules = [
    'H H 1 1 *',
    { cron: 'H H H 1 *', timezone: 'Europe/Berlin' },
    '0 H H 1 1 *',
    { at: '2031-01-01T00:00:00Z' },
    { cron: '30 2 1 1 *', timezone: 'America/New_York' },
  ];
  return {
    description: `generated job ${i}`,
    policy: { select: i % 3 === 0 ? 'all' : 'any', roles: ['local'] },
    schedule: schedules[i % schedules.length],
    command: ['true'],
    timeout: '5m',
    tags: ['bench', `shard-${i % 16}`],
  };
}

/** The same number of entries for Debian cron: never-firing (31 February), so cron only scans them. */
export function generateCrontab(file: string, count: number): void {
  const lines = ['SHELL=/bin/sh', ''];
  for (let i = 0; i < count; i++) lines.push(`${i % 60} ${i % 24} 31 2 * root true # job-${i}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
}
