import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A throw-away jobs.d + nodes.d pair; remove() is idempotent. */
export class TmpConfig {
  readonly root = mkdtempSync(join(tmpdir(), 'distcron-config-'));
  readonly jobsDir = join(this.root, 'jobs.d');
  readonly nodesDir = join(this.root, 'nodes.d');

  constructor() {
    mkdirSync(this.jobsDir);
    mkdirSync(this.nodesDir);
  }

  job(rel: string, body: object | string): string {
    return this.write(join(this.jobsDir, rel), body);
  }

  node(rel: string, body: object | string): string {
    return this.write(join(this.nodesDir, rel), body);
  }

  write(path: string, body: object | string): string {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body, null, 2));
    return path;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

export const LOCAL_NODE = { roles: ['db'], connection_type: 'local' };
export const simpleJob = (extra: object = {}) => ({
  policy: { hosts: ['db1'] },
  command: ['/bin/true'],
  ...extra,
});
