import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import * as entry from '../../src/index.js';

describe('package entry', () => {
  it('names in package.json "main" the build of src/index.ts', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { main: string };
    expect(pkg.main).to.equal('dist/index.js');
    expect(existsSync('src/index.ts')).to.equal(true);
  });

  it('exports the programmatic API: startDaemon, its defaults and the config loader', () => {
    expect(entry.startDaemon).to.be.a('function');
    expect(entry.loadConfig).to.be.a('function');
    expect(entry.DAEMON_DEFAULTS.jobsDir).to.be.a('string');
  });
});
