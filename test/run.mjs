#!/usr/bin/env node
// `npm test`: every unit and integration suite in one mocha run, then one summary line.
// Integration suites provision their real components (sshd, Elasticsearch, SMTP) themselves and
// print a loud SKIPPED line when one cannot be had; under CI=true that is a failure instead.
import { spawn } from 'node:child_process';

const args = [
  'mocha',
  '--exit',
  '--timeout',
  '180000',
  'test/unit/**/*.test.ts',
  'test/integration/**/*.test.ts',
  ...process.argv.slice(2),
];
const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'inherit'] });
// mocha's summary lines ("N passing", "N pending", "N failing") come before the failure details,
// which can be long: keep the last of each as it passes by instead of reading a tail.
const summary = {};
let partial = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const lines = (partial + chunk.toString()).split('\n');
  partial = lines.pop() ?? '';
  for (const line of lines) {
    const m = /^\s+(\d+) (passing|pending|failing)\b/.exec(line);
    if (m) summary[m[2]] = Number(m[1]);
  }
});
child.on('close', (code) => {
  const count = (word) => summary[word] ?? 0;
  const passed = count('passing');
  const failed = count('failing');
  const skipped = count('pending');
  process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  if (process.env.CI === 'true' && skipped > 0) {
    process.stdout.write('CI=true: skipped tests are not allowed\n');
    process.exit(1);
  }
  if (passed === 0) process.exit(1);
  process.exit(code ?? 1);
});
