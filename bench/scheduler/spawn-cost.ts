/**
 * Why "CPU ms per fire" in bench/scheduler is higher at 100,000 jobs than at 1,000: a local run
 * starts its command with fork + exec, and fork copies the parent's page tables, so it costs
 * more the more memory the daemon maps. This measures exactly that, without distcron: the CPU
 * a Node process spends per `spawn('true')` while it holds a small and a large heap, interleaved.
 *
 *   npx tsx bench/scheduler/spawn-cost.ts [--sizes 0,100,300] [--spawns 200] [--rounds 3]
 *
 * Not a test: it prints a table and asserts nothing.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { median, rssMiB } from './proc.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '0,100,300' },
    spawns: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
    child: { type: 'string' },
  },
});

/** Child mode: hold ~`mb` MB of small objects (like job definitions), then time spawns. */
async function child(mb: number, spawns: number): Promise<void> {
  const keep: object[] = [];
  for (let i = 0; i < mb * 10_240; i++) keep.push({ a: i, b: `x${i}`, c: [i] });
  const run = () => new Promise((resolve) => spawn('true', [], { stdio: 'ignore' }).on('exit', resolve));
  for (let i = 0; i < 20; i++) await run();
  const before = process.cpuUsage();
  for (let i = 0; i < spawns; i++) await run();
  const used = process.cpuUsage(before);
  const rss = rssMiB(process.pid);
  process.stdout.write(
    JSON.stringify({ rss, cpuMs: (used.user + used.system) / 1000 / spawns, keep: keep.length }),
  );
}

function measure(mb: number, spawns: number): Promise<{ rss: number; cpuMs: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, process.argv[1]!, '--child', `${mb}:${spawns}`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}`)),
    );
  });
}

async function main(): Promise<void> {
  if (args.child) {
    const [mb, spawns] = args.child.split(':').map(Number);
    return child(mb!, spawns!);
  }
  const sizes = args.sizes.split(',').map(Number);
  const results = new Map(sizes.map((s) => [s, [] as { rss: number; cpuMs: number }[]]));
  for (let r = 0; r < Number(args.rounds); r++)
    for (const size of sizes) results.get(size)!.push(await measure(size, Number(args.spawns)));
  const base = median(results.get(sizes[0]!)!.map((x) => x.cpuMs));
  console.log('| heap held | RSS MiB | CPU ms per spawn("true"), median | ratio to the smallest |');
  console.log('|---|---|---|---|');
  for (const [size, xs] of results) {
    const cpu = median(xs.map((x) => x.cpuMs));
    console.log(
      `| ~${size} MB | ${median(xs.map((x) => x.rss)).toFixed(0)} | ${cpu.toFixed(2)} | ${(cpu / base).toFixed(2)}x |`,
    );
  }
}

await main();
