/** What the config reader thread already found out about a file it read (read-ahead.ts). Pure. */
import type { TextBytes } from './source-map.js';

/** The file's bytes (kept for later problem places) and facts the main thread then skips. */
export interface ReadFacts extends TextBytes {
  /** Colons outside strings: tells parseJsonFast whether JSON.parse merged a duplicate key. */
  colons: number;
  /** sha256 hex of the name the file gives its job, for that job's H values (schedule/hash.ts). */
  nameDigest: string;
}
