import { expect } from 'chai';
import { execBody, prefixed, printExec, UsageError } from '../../../src/cli/exec-command.js';
import type { RunRecord } from '../../../src/core/types.js';

function run(node: string | null, status: RunRecord['status'], extra: Partial<RunRecord> = {}): RunRecord {
  return {
    id: `r-${node}`,
    execution_id: 'e',
    job: '@adhoc',
    node,
    host: null,
    trigger: 'adhoc',
    attempt: 1,
    scheduled_at: null,
    started_at: null,
    finished_at: null,
    duration_ms: 120,
    status,
    exit_code: status === 'succeeded' ? 0 : null,
    signal: null,
    stdout: '',
    stderr: '',
    output_truncated: false,
    error: null,
    ...extra,
  };
}

describe('distcron exec: flags → request body, output → NODE | lines', () => {
  it('builds the policy from --role/--label/--node and the command from the words', () => {
    expect(execBody({ roles: ['web', 'web'], words: ['ls', '-la'] })).to.deep.equal({
      policy: { select: 'all', roles: ['web'] },
      command: ['ls', '-la'],
    });
    expect(
      execBody({
        nodes: ['a', 'b'],
        select: 'any',
        words: ['echo hi;', 'exit 3'],
        shell: true,
        timeout: '30s',
        runAs: 'www-data',
      }),
    ).to.deep.equal({
      policy: { select: 'any', hosts: ['a', 'b'] },
      shell_command: 'echo hi; exit 3',
      timeout: '30s',
      run_as: 'www-data',
    });
    expect(execBody({ labels: { dc: 'ams' }, words: ['true'] })).to.deep.equal({
      policy: { select: 'all', labels: { dc: 'ams' } },
      command: ['true'],
    });
  });

  it('refuses a command line without nodes, with both --node and --role, or without a command', () => {
    expect(() => execBody({ words: ['true'] })).to.throw(UsageError, /--role R/);
    expect(() => execBody({ roles: ['web'], nodes: ['a'], words: ['true'] })).to.throw(
      UsageError,
      /not both/,
    );
    expect(() => execBody({ roles: ['web'], words: [] })).to.throw(UsageError, /after --/);
  });

  it('prefixes every line with the node, adding no line for a final newline or empty output', () => {
    expect(prefixed('web1', 'a\n\nb\n')).to.deep.equal(['web1 | a', 'web1 | ', 'web1 | b']);
    expect(prefixed('web1', 'no newline')).to.deep.equal(['web1 | no newline']);
    expect(prefixed('web1', '')).to.deep.equal([]);
  });

  it('prints hosts in name order, a status line per failed host, and answers 1 when any failed', () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = printExec(
      [
        run('web2', 'failed', { exit_code: 3, stdout: 'two\n', stderr: 'bad\n' }),
        run('web1', 'succeeded', { stdout: 'one\n' }),
        run(null, 'error', { error: 'no candidate node: no node is up' }),
      ],
      (l) => out.push(l),
      (l) => err.push(l),
    );
    expect(code).to.equal(1);
    expect(out).to.deep.equal(['web1 | one', 'web2 | two']);
    expect(err).to.deep.equal([
      'web2 | bad',
      '- | error in 120ms: no candidate node: no node is up',
      'web2 | failed (exit 3) in 120ms',
      'distcron exec: 2 of 3 hosts failed',
    ]);
    expect(
      printExec(
        [run('a', 'succeeded')],
        () => {},
        () => {},
      ),
    ).to.equal(0);
  });
});
