import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiToken } from '../../../src/api/auth.js';
import { sha256Hex } from '../../../src/api/server.js';

/** Tokens for the role matrix: the token text is `<role>-secret-token`. */
export const TOKENS = {
  read: 'read-secret-token',
  operate: 'operate-secret-token',
  admin: 'admin-secret-token',
} as const;

export const TOKEN_FILE: ApiToken[] = [
  { name: 'dashboard', sha256: sha256Hex(TOKENS.read), role: 'read' },
  { name: 'ci', sha256: sha256Hex(TOKENS.operate), role: 'operate' },
  { name: 'ops', sha256: sha256Hex(TOKENS.admin), role: 'admin' },
];

/** Writes `tokens` as an --api-tokens file in `dir`; returns its path. */
export function writeTokenFile(dir: string, tokens: ApiToken[]): string {
  const file = join(dir, 'tokens.json');
  writeFileSync(file, JSON.stringify(tokens));
  return file;
}
