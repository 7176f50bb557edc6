import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../src/core/log.js';
import type { RunRecord } from '../../../src/core/types.js';
import { startDaemon, type Daemon } from '../../../src/daemon/daemon.js';
import { useSshHosts, waitFor } from '../../harness/ssh-fixture.js';
import type { SshTestHosts } from '../../harness/sshd.js';

/** Deterministic PRNG (mulberry32), so the chi-square check cannot flake. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const JOBS: Record<string, object> = {
  balanced: {
    policy: { select: 'any', roles: ['fleet'], placement: 'least_loaded' },
    shell_command: 'sleep 0.2',
  },
  rotating: { policy: { select: 'any', roles: ['fleet'], placement: 'round_robin' }, command: ['true'] },
  dice: { policy: { select: 'any', roles: ['fleet'], placement: 'random' }, command: ['true'] },
  capped: { policy: { select: 'any', hosts: ['capped'] }, shell_command: 'sleep 0.3' },
  failover: { policy: { select: 'any', hosts: ['h3', 'h4'] }, command: ['true'] },
  everywhere: { policy: { select: 'all', roles: ['fleet'] }, command: ['true'] },
  lonely: { policy: { select: 'any', hosts: ['h3'] }, command: ['true'] },
};

function writeConfig(dir: string, hosts: SshTestHosts): { jobsDir: string; nodesDir: string } {
  const jobsDir = join(dir, 'jobs.d');
  const nodesDir = join(dir, 'nodes.d');
  mkdirSync(jobsDir);
  mkdirSync(nodesDir);
  for (const [name, job] of Object.entries(JOBS))
    writeFileSync(
      join(jobsDir, `${name}.json`),
      JSON.stringify({ schedule: '@manual', overlap: 'allow', ...job }),
    );
  const node = (i: number, extra: object = {}) => ({
    roles: ['fleet'],
    connection_type: 'ssh',
    connection_options: {
      ssh_host: hosts.hostPort(i),
      ssh_user: hosts.user,
      ssh_private_key_file: hosts.clientKeyFile,
    },
    ...extra,
  });
  for (const h of hosts.hosts) writeFileSync(join(nodesDir, `${h.name}.json`), JSON.stringify(node(h.index)));
  writeFileSync(
    join(nodesDir, 'capped.json'),
    JSON.stringify(node(0, { roles: ['capped'], max_concurrent_runs: 2 })),
  );
  return { jobsDir, nodesDir };
}

function countBy(runs: RunRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of runs) counts[r.node ?? '-'] = (counts[r.node ?? '-'] ?? 0) + 1;
  return counts;
}

/** Most runs whose [started_at, finished_at] intervals overlap at one instant. */
function peakConcurrency(runs: RunRecord[]): number {
  const edges = runs.flatMap((r) => [
    { t: Date.parse(r.started_at!), d: 1 },
    { t: Date.parse(r.finished_at!), d: -1 },
  ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let peak = 0;
  for (const e of edges) peak = Math.max(peak, (now += e.d));
  return peak;
}

describe('placement and failover across real sshd hosts (daemon + SshExecutor)', function () {
  this.timeout(60_000);
  const fixture = useSshHosts('ssh placement', { count: 5 });
  let dir: string;
  let daemon: Daemon;

  before(async function () {
    if (!fixture.hosts) return;
    dir = mkdtempSync(join(tmpdir(), 'distcron-placement-'));
    const { jobsDir, nodesDir } = writeConfig(dir, fixture.hosts);
    daemon = await startDaemon(
      {
        jobsDir,
        nodesDir,
        dbPath: join(dir, 'runs.sqlite'),
        listen: null,
        knownHostsFile: fixture.hosts.knownHostsFile,
        sshConnectTimeoutMs: 3000,
        nodeProbeInitialMs: 200,
        nodeProbeMaxMs: 1000,
      },
      { logger: silentLogger(), random: seeded(42) },
    );
  });
  after(async () => {
    await daemon?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function fire(job: string, times: number): Promise<RunRecord[]> {
    const started = await Promise.all(Array.from({ length: times }, () => daemon.control.runJob(job, {})));
    return Promise.all(started.flatMap((s) => s.runIds).map((id) => daemon.control.waitForRun(id)));
  }

  /** Every run record of one execution, the immediately-final ones included. */
  async function executionRuns(executionId: string): Promise<RunRecord[]> {
    const page = await daemon.control.listRuns({ job: 'everywhere', limit: 500 });
    return page.runs.filter((r) => r.execution_id === executionId);
  }

  async function fireInSequence(job: string, times: number): Promise<RunRecord[]> {
    const runs: RunRecord[] = [];
    for (let i = 0; i < times; i++) runs.push(...(await fire(job, 1)));
    return runs;
  }

  it('least_loaded spreads 100 runs of a 200 ms job over 5 hosts at 20 ± 2 each', async () => {
    const runs = await fire('balanced', 100);
    expect(runs.every((r) => r.status === 'succeeded')).to.equal(true);
    const counts = countBy(runs);
    expect(Object.keys(counts).sort()).to.deep.equal(['h0', 'h1', 'h2', 'h3', 'h4']);
    for (const n of Object.values(counts)) expect(n).to.be.within(18, 22);
  });

  it('round_robin visits the hosts in turn', async () => {
    const runs = await fireInSequence('rotating', 10);
    const order = runs.map((r) => r.node);
    expect(new Set(order.slice(0, 5)).size).to.equal(5);
    expect(order.slice(5)).to.deep.equal(order.slice(0, 5));
  });

  it('random placement is uniform by a chi-square test (df 4, p = 0.001)', async () => {
    const runs = await fire('dice', 250);
    const counts = Object.values(countBy(runs));
    expect(counts).to.have.length(5);
    const chi2 = counts.reduce((sum, n) => sum + (n - 50) ** 2 / 50, 0);
    expect(chi2).to.be.lessThan(18.47);
  });

  it('honours max_concurrent_runs: 6 runs on a node capped at 2 never overlap by more than 2', async () => {
    const runs = await fire('capped', 6);
    expect(runs.map((r) => r.status)).to.deep.equal(Array(6).fill('succeeded'));
    expect(peakConcurrency(runs)).to.equal(2);
  });

  describe('with host h3 down', () => {
    let stopped = false;
    before(async function () {
      this.timeout(20_000);
      await fixture.hosts.stopHost(3);
      stopped = true;
    });
    after(async function () {
      this.timeout(20_000);
      if (stopped) await fixture.hosts.startHost(3);
    });

    it('an any run still succeeds on another host and h3 shows down', async () => {
      const runs = await fireInSequence('failover', 3);
      expect(runs.map((r) => r.status)).to.deep.equal(['succeeded', 'succeeded', 'succeeded']);
      expect(runs.map((r) => r.node)).to.deep.equal(['h4', 'h4', 'h4']);
      const h3 = (await daemon.control.getNode('h3'))!;
      expect(h3.health.up).to.equal(false);
      expect(h3.health.lastError).to.match(/connection refused/);
      expect(h3.health.nextProbeAt).to.be.a('string');
    });

    it('an all job records an error run for the down node and runs everywhere else', async () => {
      const { executionId } = await daemon.control.runJob('everywhere', {});
      await waitFor(
        async () => (await executionRuns(executionId)).every((r) => r.finished_at !== null),
        20_000,
        'all runs final',
      );
      const runs = await executionRuns(executionId);
      const byNode = Object.fromEntries(runs.map((r) => [r.node, r]));
      expect(Object.keys(byNode).sort()).to.deep.equal(['h0', 'h1', 'h2', 'h3', 'h4']);
      expect(byNode.h3!.status).to.equal('error');
      expect(byNode.h3!.error).to.match(/node down/);
      for (const n of ['h0', 'h1', 'h2', 'h4']) expect(byNode[n]!.status).to.equal('succeeded');
    });

    it('no candidate up records an error run with the reason', async () => {
      // The control API also refuses the request (nothing could start); the record is what counts.
      await daemon.control.runJob('lonely', {}).catch(() => undefined);
      // Placement happens as the execution starts: the final record is written just after.
      const finalRun = async () => {
        const [run] = (await daemon.control.listRuns({ job: 'lonely', limit: 1 })).runs;
        return run && run.status !== 'running' ? run : undefined;
      };
      await waitFor(async () => (await finalRun()) !== undefined, 10_000, 'the lonely run to be final');
      const last = (await finalRun())!;
      expect(last.status).to.equal('error');
      expect(last.error).to.match(/no candidate node is up: h3 \(.*connection refused/);
    });

    it('h3 comes back up through the backoff re-probe once its sshd restarted', async () => {
      await fixture.hosts.startHost(3);
      stopped = false;
      await waitFor(
        async () => (await daemon.control.getNode('h3'))!.health.up,
        10_000,
        'h3 to be re-probed up',
      );
      const runs = await fire('lonely', 1);
      expect(runs.map((r) => [r.node, r.status])).to.deep.equal([['h3', 'succeeded']]);
    });
  });
});
