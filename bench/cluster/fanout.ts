/**
 * Fan-out rows of the cluster bench: an `all` job (`true`) on every loopback host, fired through
 * a member's API, timed until every run is final in the store; beside the bare-ssh2 floor and
 * parallel-ssh. Warm = members that already ran the job once (open connections); cold = fresh
 * member processes each round (start-up not timed).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SshTestHosts } from '../../test/harness/sshd.js';
import { ROW, floorScenarios, type Scenario } from '../fanout/scenarios.js';
import { type ExternalTools, time } from '../fanout/tools.js';
import {
  fireJob,
  rssMib,
  startMember,
  stopMembers,
  storeReader,
  waitForExecution,
  type Member,
  type MemberOptions,
} from './members.js';

export interface Store {
  label: string;
  /** A fresh database (SQLite path or postgres URL) for one row. */
  fresh: () => string;
}

export const FLOOR_WARM = ROW.floorWarm;
export const FLOOR_COLD = ROW.floorCold;
export const PSSH = ROW.psshCurve;

export function writeFanoutConfig(dir: string, hosts: SshTestHosts): { jobsDir: string; nodesDir: string } {
  const jobsDir = join(dir, 'jobs.d');
  const nodesDir = join(dir, 'nodes.d');
  mkdirSync(jobsDir, { recursive: true });
  mkdirSync(nodesDir, { recursive: true });
  const job = {
    policy: { select: 'all', roles: ['fanout'] },
    schedule: '@manual',
    overlap: 'allow',
    command: ['true'],
  };
  writeFileSync(join(jobsDir, 'fanout.json'), JSON.stringify(job));
  for (const h of hosts.hosts)
    writeFileSync(
      join(nodesDir, `${h.name}.json`),
      JSON.stringify({
        roles: ['fanout'],
        connection_type: 'ssh',
        connection_options: {
          ssh_host: `${h.address}:${hosts.port}`,
          ssh_user: hosts.user,
          ssh_private_key_file: hosts.clientKeyFile,
        },
      }),
    );
  return { jobsDir, nodesDir };
}

/** Members on one store; fire() runs the job once on every host through the first member. */
class Cluster {
  members: Member[] = [];
  private readonly reader;

  constructor(
    private readonly options: MemberOptions,
    private readonly size: number,
    private readonly hosts: number,
  ) {
    this.reader = storeReader(options.db);
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.size; i++) this.members.push(await startMember(this.options));
    // Every member must be in the cluster before the fire, or the work is not spread.
    await new Promise((r) => setTimeout(r, this.size > 1 ? 3_000 : 0));
  }

  async fire(): Promise<void> {
    const execution = await fireJob(this.members[0]!, 'fanout');
    await waitForExecution(this.reader, execution, this.hosts);
  }

  /** Members that executed runs, and their RSS. */
  async note(): Promise<string> {
    const rows = await this.reader.query<{ member: string; n: string }>(
      'SELECT member, count(*) AS n FROM runs GROUP BY member ORDER BY member',
    );
    const spread = rows.map((r) => `${r.member}: ${r.n}`).join(', ');
    const rss = this.members.map((m) => `${rssMib(m.child.pid!).toFixed(0)}`).join('/');
    return `runs per member ${spread}; RSS MiB ${rss}`;
  }

  async stop(): Promise<void> {
    await stopMembers(this.members);
    this.members = [];
  }

  close(): Promise<void> {
    return this.reader.close();
  }
}

export function fanoutScenarios(
  hosts: SshTestHosts,
  tools: ExternalTools,
  config: { jobsDir: string; nodesDir: string },
  rows: { store: Store; members: number }[],
): Scenario[] {
  const floors: Scenario[] = [
    ...floorScenarios(hosts),
    { group: 'pssh', name: PSSH, round: () => time(() => tools.pssh('curve25519-sha256')) },
  ];
  const member = (db: string): MemberOptions => ({ ...config, db, knownHostsFile: hosts.knownHostsFile });
  return [...floors, ...rows.flatMap((r) => distcronRows(r.store, r.members, hosts.hosts.length, member))];
}

function distcronRows(
  store: Store,
  size: number,
  hosts: number,
  member: (db: string) => MemberOptions,
): Scenario[] {
  const label = `distcron ${store.label}, ${size} member${size > 1 ? 's' : ''}`;
  const warm = new Cluster(member(store.fresh()), size, hosts);
  let note = '';
  return [
    {
      group: 'daemon',
      name: `${label} warm`,
      prepare: async () => {
        await warm.start();
        await warm.fire();
      },
      round: () => time(() => warm.fire()),
      dispose: async () => {
        note = await warm.note();
        await warm.stop();
        await warm.close();
      },
      note: () => note,
    },
    {
      group: 'daemon',
      name: `${label} cold`,
      round: async () => {
        const cold = new Cluster(member(store.fresh()), size, hosts);
        try {
          await cold.start();
          return await time(() => cold.fire());
        } finally {
          await cold.stop();
          await cold.close();
        }
      },
    },
  ];
}
