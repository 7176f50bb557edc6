import { expect } from 'chai';
import { join } from 'node:path';
import { runValidate } from '../../../src/cli/validate.js';
import { LOCAL_NODE, simpleJob, TmpConfig } from './tmp-config.js';

describe('distcron validate', () => {
  let cfg: TmpConfig;
  let lines: string[];
  const validate = (json = false) =>
    runValidate({
      jobsDir: cfg.jobsDir,
      nodesDir: cfg.nodesDir,
      defaultTimezone: 'UTC',
      json,
      out: (l) => lines.push(l),
    });

  beforeEach(() => {
    cfg = new TmpConfig();
    lines = [];
    cfg.node('db1.json', LOCAL_NODE);
  });
  afterEach(() => cfg.remove());

  it('exits 0 with a one-line summary, warnings marked', async () => {
    cfg.job('a.json', simpleJob());
    const b = cfg.job('b.json', '{"policy": {"roles": ["cache"]}, "command": ["x"]}');
    expect(await validate()).to.equal(0);
    expect(lines).to.deep.equal([
      `${b}:1:23: warning: no node has role "cache", so it matches nothing yet; add it to a node's "roles" or fix the name`,
      'ok: 2 jobs, 1 node, 1 warning',
    ]);
  });

  it('prints every problem as file:line:column: message and exits 1', async () => {
    const a = cfg.job('a.json', '{"policy": {"hosts": ["db1"]},\n "command": ["x"], "timeout": "2d"}');
    const n = cfg.node(
      'n.json',
      '{"connection_type": "ssh", "connection_options": {"ssh_host": "h:0", "ssh_user": "u", "ssh_agent": true}}',
    );
    expect(await validate()).to.equal(1);
    expect(lines).to.deep.equal([
      `${a}:2:31: "timeout": invalid duration "2d": days are not a unit, use hours (e.g. "48h")`,
      `${n}:1:63: "ssh_host" "h:0" has an invalid port "0"; use a number from 1 to 65535`,
      'failed: 2 errors (0 jobs, 1 node loaded)',
    ]);
  });

  it('prints one JSON document with --json', async () => {
    cfg.job('a.json', simpleJob({ overlap: 'never' }));
    expect(await validate(true)).to.equal(1);
    expect(lines).to.have.length(1);
    const report = JSON.parse(lines[0]!);
    expect(report).to.deep.include({ ok: false, jobs: 0, nodes: 1, errors: 1, warnings: 0 });
    expect(report.problems[0]).to.deep.include({
      file: join(cfg.jobsDir, 'a.json'),
      path: '$.overlap',
      severity: 'error',
    });
  });
});
