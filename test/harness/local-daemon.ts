import { execFileSync } from 'node:child_process';
import { DaemonEnv } from './daemon-env.js';
import { DaemonProcess } from './daemon-process.js';

/**
 * Per-test state of the suites that run real daemon processes on a SQLite file with one local
 * node: a fresh DaemonEnv, a marker the tests' commands carry (so `pkill -f` finds every process
 * a run spawned) and the daemon started last.
 */
export interface LocalDaemonTest {
  env: DaemonEnv;
  marker: string;
  /** Killed after the test if still running. */
  daemon: DaemonProcess | null;
  /** Starts a daemon process with `args` and makes it the one killed after the test. */
  spawn(args: string[]): DaemonProcess;
}

/**
 * Registers the suite's beforeEach (a new environment with the node `local`, a new marker) and
 * afterEach (kill -9 of the daemon and of whatever carries the marker, then the environment
 * removed); the returned object holds the current test's state.
 */
export function localDaemonPerTest(markerPrefix: string): LocalDaemonTest {
  const test: LocalDaemonTest = {
    env: undefined as unknown as DaemonEnv,
    marker: '',
    daemon: null,
    spawn: (args) => (test.daemon = new DaemonProcess(args)),
  };
  beforeEach(() => {
    test.env = new DaemonEnv();
    test.env.writeNode('local', { roles: ['local'], connection_type: 'local' });
    test.marker = `${markerPrefix}-${process.pid}-${Date.now()}`;
  });
  afterEach(async () => {
    if (test.daemon && test.daemon.child.exitCode === null) test.daemon.kill('SIGKILL');
    try {
      execFileSync('pkill', ['-9', '-f', test.marker]);
    } catch {
      // nothing left, as it should be
    }
    await test.env.cleanup();
  });
  return test;
}
