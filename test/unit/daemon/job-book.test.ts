import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { JobDef, RunRecord } from '../../../src/core/types.js';
import { Bell } from '../../../src/daemon/bell.js';
import { JobBook } from '../../../src/daemon/job-book.js';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite.js';

const jobNamed = (name: string, enabled: boolean) => ({ name, enabled }) as JobDef;

function finishedRun(job: string, status: RunRecord['status']): RunRecord {
  return {
    id: `${job}-1`,
    execution_id: `${job}-e1`,
    job,
    node: 'n1',
    host: 'h1',
    trigger: 'schedule',
    attempt: 1,
    scheduled_at: '2026-01-01T00:00:00.000Z',
    started_at: '2026-01-01T00:00:00.000Z',
    finished_at: '2026-01-01T00:00:01.000Z',
    duration_ms: 1000,
    status,
    exit_code: 0,
    signal: null,
    stdout: 'out',
    stderr: 'err',
    output_truncated: false,
    error: null,
  };
}

describe('JobBook', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'distcron-jobbook-'));
    store = openSqliteStore({ path: join(dir, 'd.db') });
  });

  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an override set through the book persists and outlives a restart', () => {
    const book = new JobBook(store, store.listJobStates());
    expect(book.isEnabled(jobNamed('a', true))).to.equal(true);
    expect(book.override('a')).to.equal(null);
    book.setEnabled('a', false);
    expect(book.isEnabled(jobNamed('a', true))).to.equal(false);

    const restarted = new JobBook(store, store.listJobStates());
    expect(restarted.override('a')).to.equal(false);
    expect(restarted.isEnabled(jobNamed('a', true))).to.equal(false);
    expect(restarted.isEnabled(jobNamed('b', false))).to.equal(false);
    expect(restarted.override('b')).to.equal(null);
  });

  it('keeps the last finished run without its output, and ignores skipped runs', () => {
    const book = new JobBook(store, []);
    expect(book.lastRun('a')).to.equal(null);
    book.finish(finishedRun('a', 'succeeded'));
    book.finish(finishedRun('a', 'skipped'));
    const last = book.lastRun('a');
    expect(last?.status).to.equal('succeeded');
    expect(last?.stdout).to.equal('');
    expect(last?.stderr).to.equal('');
  });
});

describe('Bell', () => {
  it('a ring reaches every listener registered so far, and none before any registers', () => {
    const bell = new Bell();
    bell.ring();
    const heard: string[] = [];
    bell.listen(() => heard.push('first'));
    bell.listen(() => heard.push('second'));
    bell.ring();
    expect(heard).to.deep.equal(['first', 'second']);
  });
});
