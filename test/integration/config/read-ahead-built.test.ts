import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The reader thread is an ordinary module: compiled by tsc like the rest, the built
 * read-ahead.js starts the built read-ahead-worker.js in plain node (no tsx), as the daemon
 * does from dist/. (Under tsx the other read-ahead tests cover it.)
 */
describe('config: the reader thread as built by tsc', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'distcron-built-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads files on its own thread from the compiled JavaScript', () => {
    const out = join(dir, 'dist');
    const tsc = join(process.cwd(), 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [
      tsc,
      ...['--outDir', out, '--rootDir', 'src', '--module', 'NodeNext', '--moduleResolution', 'NodeNext'],
      ...['--target', 'ES2022', '--strict', '--skipLibCheck', '--types', 'node'],
      'src/config/read-ahead.ts',
      'src/config/read-ahead-worker.ts',
    ]);
    const files: string[] = [];
    for (let i = 0; i < 1500; i++) {
      files.push(join(dir, `job-${i}.json`));
      writeFileSync(files[i]!, `{"a": ${i}, "b": "x:y"}`);
    }
    const list = join(dir, 'files.json');
    writeFileSync(list, JSON.stringify(files));
    const script = `
      import { readFileSync } from 'node:fs';
      import { readAhead } from ${JSON.stringify(pathToFileURL(join(out, 'config', 'read-ahead.js')).href)};
      const files = JSON.parse(readFileSync(${JSON.stringify(list)}, 'utf8'));
      let read = 0, colons = 0;
      await readAhead(files, (b) => {
        for (let i = 0; i < b.count; i++) if (b.text(i) !== undefined) { read++; colons += b.facts(i).colons; }
      });
      console.log(JSON.stringify({ read, colons }));`;
    const main = join(dir, 'main.mjs');
    writeFileSync(main, script);
    // Plain node, no tsx: exactly what runs from dist/.
    const result = execFileSync(process.execPath, [main], {
      env: { ...process.env, NODE_OPTIONS: '' },
    }).toString();
    const { read, colons } = JSON.parse(result) as { read: number; colons: number };
    // The first batch (512) is read on the main thread while the worker starts; the rest by it.
    expect(read).to.equal(1500 - 512);
    expect(colons).to.equal(2 * read);
  });
});
