/**
 * Every row of the fan-out table as a scenario. Rounds are interleaved (each iteration runs
 * every scenario once) so a load spike on this shared machine hits all rows alike.
 */
import { executorRound, newExecutor } from './executor-rows.js';
import { DaemonFanout } from './daemon-rows.js';
import { BareSsh2, ExternalTools, time } from './tools.js';
import type { SshTestHosts } from '../../test/harness/sshd.js';
import type { SshExecutor } from '../../src/exec/ssh/executor.js';

export interface Scenario {
  group: 'floor' | 'executor' | 'daemon' | 'pssh' | 'ansible';
  name: string;
  prepare?: () => Promise<void>;
  /** One measured round, in seconds. */
  round: () => Promise<number>;
  dispose?: () => Promise<void>;
  note?: () => string | undefined;
}

export const ROW = {
  floorWarm: 'bare ssh2 warm (open connections)',
  floorCold: 'bare ssh2 cold (connect + exec)',
  psshCurve: 'parallel-ssh -p N, curve25519-sha256',
} as const;

export function scenarios(hosts: SshTestHosts, tools: ExternalTools): Scenario[] {
  let executor: SshExecutor | null = null;
  const daemon = new DaemonFanout(hosts);
  return [
    ...floorScenarios(hosts),
    {
      group: 'executor',
      name: 'SshExecutor warm (pooled)',
      prepare: async () => {
        executor = newExecutor(hosts);
        await executorRound(executor, hosts);
      },
      round: () => time(() => executorRound(executor!, hosts)),
      dispose: async () => executor?.close(),
    },
    {
      group: 'executor',
      name: 'SshExecutor cold (new executor)',
      round: async () => {
        const fresh = newExecutor(hosts);
        const s = await time(() => executorRound(fresh, hosts));
        await fresh.close();
        return s;
      },
    },
    {
      group: 'daemon',
      name: 'distcron daemon warm (fire → all recorded)',
      prepare: () => daemon.prepareWarm(),
      round: () => daemon.warmRound(),
      dispose: () => daemon.close(),
      note: () => daemon.rssNote(),
    },
    { group: 'daemon', name: 'distcron daemon cold (fire → all recorded)', round: () => daemon.coldRound() },
    { group: 'pssh', name: 'parallel-ssh -p N (OpenSSH default kex)', round: () => time(() => tools.pssh()) },
    { group: 'pssh', name: ROW.psshCurve, round: () => time(() => tools.pssh('curve25519-sha256')) },
    { group: 'ansible', name: 'ansible -m raw -f N', round: () => time(() => tools.ansibleRaw()) },
  ];
}

/** The bare-ssh2 floors, warm (connections opened once) and cold (connect + exec each round). */
export function floorScenarios(hosts: SshTestHosts): Scenario[] {
  const bare = new BareSsh2(hosts);
  return [
    {
      group: 'floor',
      name: ROW.floorWarm,
      prepare: () => bare.connectAll(),
      round: () => time(() => bare.execAll()),
      dispose: async () => bare.close(),
    },
    {
      group: 'floor',
      name: ROW.floorCold,
      round: async () => {
        const fresh = new BareSsh2(hosts);
        const s = await time(async () => {
          await fresh.connectAll();
          await fresh.execAll();
        });
        fresh.close();
        return s;
      },
    },
  ];
}
