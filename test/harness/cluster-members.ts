import type { DaemonEnv } from './daemon-env.js';
import { DaemonProcess, waitFor } from './daemon-process.js';
import { freePort } from './ports.js';

/** A real `distcron daemon` process as one member of a PostgreSQL cluster. */
export interface Member {
  id: string;
  listen: string;
  proc: DaemonProcess;
}

export interface MemberSettings {
  /** The shared database's URL. */
  url: string;
  env: DaemonEnv;
  poolSize: number;
  /** HOST:PORT the member's API listens on; a free port when not given. */
  listen?: string;
}

/** Spawns one member (lease TTL 3 s, renewal 1 s, 1 s shutdown grace); does not wait for it. */
export async function spawnMember(id: string, s: MemberSettings): Promise<Member> {
  const listen = s.listen ?? `127.0.0.1:${await freePort()}`;
  const proc = new DaemonProcess([
    ...['--db', s.url, '--db-pool-size', String(s.poolSize), '--member-id', id],
    ...['--jobs-dir', s.env.jobsDir, '--nodes-dir', s.env.nodesDir, '--listen', listen],
    ...['--timezone', 'UTC', '--shutdown-grace', '1s', '--no-ui'],
    ...['--lease-ttl', '3s', '--lease-renew', '1s'],
  ]);
  return { id, listen, proc };
}

/** Spawns the members one after another, then waits until each logged that it is ready. */
export async function startMembers(ids: string[], s: MemberSettings): Promise<Member[]> {
  const members: Member[] = [];
  for (const id of ids) members.push(await spawnMember(id, s));
  for (const m of members) await waitFor(`${m.id} ready`, () => m.proc.log.includes('distcron ready'));
  return members;
}
