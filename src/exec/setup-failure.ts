import type { ExecOutcome, ExecRequest } from './executor.js';
import { setupFailure, setupFailureMessage } from './quote.js';

/**
 * A run whose checks failed before its command started (sudo wanting a password, a missing
 * interpreter: see commandLine) ends as `error` with a message naming the host (`where`), not
 * as an ordinary failure of the command.
 */
export function withSetupFailure(outcome: ExecOutcome, req: ExecRequest, where: string): ExecOutcome {
  if (outcome.status !== 'failed') return outcome;
  const failure = setupFailure(outcome.exitCode, outcome.stderr);
  if (!failure) return outcome;
  return {
    ...outcome,
    status: 'error',
    stderr: failure.rest,
    error: setupFailureMessage(req.command, failure, where),
  };
}
