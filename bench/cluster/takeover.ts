/**
 * Takeover rows of the cluster bench: three members with the default lease, a job every second;
 * the leader is killed with kill -9 again and again (a fresh member replaces it each time) and
 * each takeover is timed from the kill to the next instant claimed by the new leader.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMember, stopMembers, storeReader, type Member } from './members.js';

export function writeTakeoverConfig(dir: string): { jobsDir: string; nodesDir: string } {
  const jobsDir = join(dir, 'jobs.d');
  const nodesDir = join(dir, 'nodes.d');
  mkdirSync(jobsDir, { recursive: true });
  mkdirSync(nodesDir, { recursive: true });
  writeFileSync(
    join(jobsDir, 'tick.json'),
    JSON.stringify({
      policy: { select: 'any', roles: ['local'] },
      schedule: '* * * * * *',
      catch_up: 'all',
      overlap: 'allow',
      command: ['true'],
    }),
  );
  writeFileSync(join(nodesDir, 'local.json'), JSON.stringify({ roles: ['local'], connection_type: 'local' }));
  return { jobsDir, nodesDir };
}

/** Milliseconds of each takeover. */
export async function measureTakeovers(
  config: { jobsDir: string; nodesDir: string; db: string },
  kills: number,
  log: (msg: string) => void,
): Promise<number[]> {
  const reader = storeReader(config.db);
  const members: Member[] = [];
  for (let i = 0; i < 3; i++) members.push(await startMember(config));
  const lastInstant = async () =>
    (await reader.query<{ at: string | null }>('SELECT max(scheduled_at) AS at FROM runs'))[0]?.at ?? '';
  const leader = async () =>
    (
      await reader.query<{ holder: string }>(
        'SELECT holder FROM cluster_lease WHERE id = 1 AND expires_at > now()',
      )
    )[0]?.holder;
  const takeovers: number[] = [];
  try {
    for (let k = 0; k < kills; k++) {
      await until(async () => (await leader()) !== undefined && (await lastInstant()) !== '');
      await sleep(3_000);
      const id = await leader();
      const target = members.find((m) => m.id === id)!;
      const killedAt = performance.now();
      target.child.kill('SIGKILL');
      await target.exited;
      const before = await lastInstant();
      members.splice(members.indexOf(target), 1);
      members.push(await startMember(config));
      await until(async () => (await lastInstant()) > before);
      takeovers.push(performance.now() - killedAt);
      log(`takeover ${k + 1}/${kills}: ${takeovers.at(-1)!.toFixed(0)} ms`);
    }
  } finally {
    await stopMembers(members);
    await reader.close();
  }
  return takeovers;
}

async function until(probe: () => Promise<boolean>): Promise<void> {
  while (!(await probe())) await sleep(20);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
