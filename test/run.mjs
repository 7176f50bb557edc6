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
let tail = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4000);
});
child.on('close', (code) => {
  const count = (word) => Number(new RegExp(`(\\d+) ${word}`).exec(tail)?.[1] ?? 0);
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
