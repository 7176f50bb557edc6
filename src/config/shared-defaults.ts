/**
 * Defaults for fields a job file leaves out, shared by every definition and frozen: a fleet of
 * 100,000 mostly-default jobs would otherwise hold ~900,000 empty arrays and objects, which
 * start-up allocates and the young-generation GC copies. Definitions are never mutated after
 * parsing; freezing makes an attempt throw instead of changing every job at once. Pure.
 */
import type { JobDef, ParameterSpec } from '../core/types.js';

const EMPTY: readonly never[] = Object.freeze([]);

/** The shared empty list, typed for the field it fills. */
export function noItems<T>(): T[] {
  return EMPTY as unknown as T[];
}

export const NO_STRINGS = noItems<string>();
export const NO_LABELS: Record<string, string> = Object.freeze({});
export const NO_ENVIRONMENT: Record<string, string> = Object.freeze({});
export const NO_PARAMETERS: Record<string, ParameterSpec> = Object.freeze({});
export const NO_RETRIES: JobDef['retries'] = Object.freeze({ count: 0, delayMs: 0 });
export const NO_NOTIFY: JobDef['notify'] = Object.freeze({
  on: noItems<JobDef['notify']['on'][number]>(),
  email: noItems<string>(),
  webhooks: noItems<JobDef['notify']['webhooks'][number]>(),
});
