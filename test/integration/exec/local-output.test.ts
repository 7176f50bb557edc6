import { expect } from 'chai';
import { LocalExecutor } from '../../../src/exec/local.js';
import { argv, LOCAL_NODE, request, shell } from './local-support.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('LocalExecutor: output capture', function () {
  this.timeout(120_000);
  const executor = new LocalExecutor();
  after(() => executor.close());

  it('captures stdout and stderr separately', async () => {
    const outcome = await executor.run(LOCAL_NODE, request(shell('echo out; echo err >&2; echo out2')));
    expect(outcome).to.include({ stdout: 'out\nout2\n', stderr: 'err\n', outputTruncated: false });
  });

  it('caps each stream, keeping the head and the end, and marks the run truncated', async () => {
    const outcome = await executor.run(
      LOCAL_NODE,
      request(argv('seq', '1', '100000'), { outputLimitBytes: 1000 }),
    );
    const total = Array.from({ length: 100000 }, (_, i) => `${i + 1}\n`).join('');
    expect(outcome.outputTruncated).to.equal(true);
    expect(outcome.stdout).to.equal(
      `${total.slice(0, 500)}\n[... distcron: ${total.length - 1000} bytes omitted ...]\n${total.slice(-500)}`,
    );
    expect(outcome.stderr).to.equal('');
  });

  it('marks the run truncated when only stderr overflows', async () => {
    const outcome = await executor.run(
      LOCAL_NODE,
      request(shell('echo small; seq 1 1000 >&2'), { outputLimitBytes: 100 }),
    );
    expect(outcome.stdout).to.equal('small\n');
    expect(outcome.stderr).to.match(/^1\n2\n[\s\S]*bytes omitted[\s\S]*\n1000\n$/);
    expect(outcome.outputTruncated).to.equal(true);
  });

  it('keeps the daemon memory bounded while a command prints 1 GiB', async () => {
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const started = Date.now();
    const outcome = await executor.run(
      LOCAL_NODE,
      request(argv('head', '-c', String(GiB), '/dev/zero'), { outputLimitBytes: MiB }),
    );
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    const growthMiB = (peak - before) / MiB;
    console.log(
      `      1 GiB through the local executor in ${Date.now() - started} ms, peak RSS growth ${growthMiB.toFixed(1)} MiB`,
    );
    expect(outcome.status).to.equal('succeeded');
    expect(outcome.outputTruncated).to.equal(true);
    expect(outcome.stdout).to.include(`[... distcron: ${GiB - MiB} bytes omitted ...]`);
    expect(outcome.stdout).to.have.length(MiB + `\n[... distcron: ${GiB - MiB} bytes omitted ...]\n`.length);
    expect(growthMiB).to.be.below(150);
  });

  it('survives binary garbage, turning invalid UTF-8 and NUL into U+FFFD', async () => {
    const outcome = await executor.run(LOCAL_NODE, request(shell(`printf 'a\\377\\376b\\000c\\303'`)));
    expect(outcome.stdout).to.equal('a\uFFFD\uFFFDb\uFFFDc\uFFFD');
    const random = await executor.run(
      LOCAL_NODE,
      request(shell('head -c 300000 /dev/urandom; head -c 300000 /dev/urandom >&2'), {
        outputLimitBytes: 4096,
      }),
    );
    expect(random).to.include({ status: 'succeeded', outputTruncated: true });
    expect(random.stdout).to.be.a('string').and.not.include('\0');
  });
});
