/**
 * Synthetic run history shared by the benchmarks that need a large `runs` table (bench/api,
 * bench/store): deterministic, with the status and trigger mix of a real fleet.
 */
import { newId } from '../src/core/ids.js';
import { isoUtc, type RunRecord, type RunStatus, type Trigger } from '../src/core/types.js';

/** Deterministic pseudo-random numbers, so two builds produce the same data. */
export function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const STATUS_MIX: RunStatus[] = [
  ...Array<RunStatus>(16).fill('succeeded'),
  'failed',
  'failed',
  'timed_out',
  'error',
];
const TRIGGER_MIX: Trigger[] = [...Array<Trigger>(17).fill('schedule'), 'manual', 'retry', 'catch_up'];

export const jobName = (j: number) => `job-${String(j).padStart(5, '0')}`;

export interface HistorySpec {
  /** Runs in the whole history (run i starts at start + i/runs of the span). */
  runs: number;
  jobs: number;
  start: number;
  spanMs: number;
  /** Copies of a two-line rsync-like summary in stdout. */
  stdoutRepeat: number;
}

/** Run i of the history; `random` must be the same generator for every run of one history. */
export function syntheticRun(i: number, spec: HistorySpec, random: () => number): RunRecord {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const at = spec.start + Math.floor((i * spec.spanMs) / spec.runs);
  const status = pick(STATUS_MIX);
  const duration = 200 + Math.floor(random() * 60_000);
  const id = newId(at);
  return {
    id,
    execution_id: id,
    job: jobName(Math.floor(random() * spec.jobs)),
    node: `node-${Math.floor(random() * 50)}`,
    host: `10.0.${Math.floor(random() * 50)}.5`,
    trigger: pick(TRIGGER_MIX),
    attempt: 1,
    scheduled_at: isoUtc(at),
    started_at: isoUtc(at + 15),
    finished_at: isoUtc(at + 15 + duration),
    duration_ms: duration,
    status,
    exit_code: status === 'succeeded' ? 0 : status === 'failed' ? 1 : null,
    signal: status === 'timed_out' ? 'SIGTERM' : null,
    stdout: `sent ${i * 13} bytes  received 1234 bytes\ntotal size is ${i * 7}  speedup is 1.00\n`.repeat(
      spec.stdoutRepeat,
    ),
    stderr: status === 'succeeded' ? '' : 'rsync error: some files could not be transferred (code 23)\n',
    output_truncated: false,
    error: status === 'error' ? 'ssh: connect ECONNREFUSED' : null,
  };
}
