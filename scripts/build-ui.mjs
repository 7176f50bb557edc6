#!/usr/bin/env node
// Builds the web console (src/ui) into dist/ui: one ES module bundle, the page and its stylesheet.
// `npm run build` runs it after tsc; the browser tests run it when dist/ui is missing or stale.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src', 'ui');
const args = process.argv.slice(2);
const quiet = args.includes('--quiet');
const out = args.find((a) => !a.startsWith('--')) ?? join(root, 'dist', 'ui');

mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(src, 'main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
});
for (const file of ['index.html', 'style.css', 'favicon.svg']) copyFileSync(join(src, file), join(out, file));

const files = readdirSync(out).filter((f) => statSync(join(out, f)).isFile());
const gzipped = files.reduce((sum, f) => sum + gzipSync(readFileSync(join(out, f))).length, 0);
if (!quiet)
  process.stdout.write(
    `ui: built ${files.length} files into ${out} (${(gzipped / 1024).toFixed(1)} KiB gzipped)\n`,
  );
