/** SshExecutor on its own (no daemon): 200 runs of `true`, cold (new executor) and warm (pooled). */
import { SshExecutor } from '../../src/exec/ssh/executor.js';
import type { ExecRequest } from '../../src/exec/executor.js';
import type { SshTestHosts } from '../../test/harness/sshd.js';

function request(i: number): ExecRequest {
  return {
    runId: `bench-${i}`,
    job: 'fanout',
    command: { kind: 'argv', argv: ['true'] },
    environment: {},
    signal: new AbortController().signal,
    outputLimitBytes: 1024 * 1024,
  };
}

export const BENCH_CONNECT_TIMEOUT_MS = 60_000;

export function newExecutor(hosts: SshTestHosts): SshExecutor {
  // A generous connect timeout: on a loaded 2-core machine 200 simultaneous handshakes can queue.
  return new SshExecutor({
    knownHostsFile: hosts.knownHostsFile,
    resolveNode: () => undefined,
    connectTimeoutMs: BENCH_CONNECT_TIMEOUT_MS,
  });
}

/** One run of `true` on every host; throws unless all succeeded. */
export async function executorRound(executor: SshExecutor, hosts: SshTestHosts): Promise<void> {
  const nodes = hosts.nodes();
  const outs = await Promise.all(nodes.map((n, i) => executor.run(n, request(i))));
  const bad = outs.filter((o) => o.status !== 'succeeded');
  if (bad.length > 0)
    throw new Error(`bench: ${bad.length} runs failed, e.g. ${bad[0]!.error ?? bad[0]!.status}`);
}
