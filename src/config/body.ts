/** A job definition sent through the API (PUT /jobs/:name) → the exact text to write. Pure. */
import type { ConfigProblem, JobDef } from '../core/types.js';
import { MAX_CONFIG_FILE_BYTES } from './limits.js';
import { nameProblem } from './names.js';
import { parseJobText, type JobParseOptions } from './parse-job.js';

export interface JobBodyOptions extends JobParseOptions {
  /** File name reported in problems and in JobDef.file; default `jobs.d/<name>.json`. */
  file?: string;
}

export interface JobBodyResult {
  job?: JobDef;
  problems: ConfigProblem[];
  /** What the API writes to the job's file, byte for byte (empty when the body cannot be serialised). */
  text: string;
}

export function validateJobBody(name: string, body: unknown, opts: JobBodyOptions): JobBodyResult {
  const file = opts.file ?? `jobs.d/${name}.json`;
  const badName = typeof name === 'string' ? nameProblem(name) : 'name must be a string';
  if (badName) return { problems: [topProblem(file, `invalid job name: ${badName}`)], text: '' };
  const text = serialise(body);
  if (text === undefined)
    return {
      problems: [topProblem(file, 'the request body must be a JSON object (a job definition)')],
      text: '',
    };
  if (Buffer.byteLength(text) > MAX_CONFIG_FILE_BYTES)
    return {
      problems: [topProblem(file, `job definition is larger than ${MAX_CONFIG_FILE_BYTES} bytes`)],
      text: '',
    };
  return { ...parseJobText(file, text, opts), text };
}

function serialise(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  try {
    return `${JSON.stringify(body, null, 2)}\n`;
  } catch {
    return undefined; // cycles, BigInt
  }
}

function topProblem(file: string, message: string): ConfigProblem {
  return { file, line: 1, column: 1, path: '$', message, severity: 'error' };
}
