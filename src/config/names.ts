/** Which directory entries are config files, and what they are called. Pure. */

export const MAX_NAME_LENGTH = 128;
const NAME_CHARS = /^[A-Za-z0-9._-]+$/;

/**
 * A job or node name that is safe as a file name inside jobs.d / nodes.d: no separators, no
 * "..", no leading dot (it would be an ignored dotfile), nothing but [A-Za-z0-9._-].
 */
export function isValidJobName(name: unknown): name is string {
  return typeof name === 'string' && nameProblem(name) === undefined;
}

/** Why a name is not acceptable, or undefined when it is. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'name must not be empty';
  if (name.length > MAX_NAME_LENGTH) return `name is longer than ${MAX_NAME_LENGTH} characters`;
  if (name.startsWith('.')) return 'name must not start with "."';
  if (name.includes('..')) return 'name must not contain ".."';
  if (!NAME_CHARS.test(name)) return 'name may only contain letters, digits, ".", "_" and "-"';
  return undefined;
}

/** Dotfiles, editor backups and non-.json entries are not config files. */
export function isConfigFileName(baseName: string): boolean {
  return !baseName.startsWith('.') && baseName.endsWith('.json') && baseName.length > '.json'.length;
}

/** Dot-directories (.git, editor state) are not descended into. */
export function isSkippedDirName(baseName: string): boolean {
  return baseName.startsWith('.');
}

/** SPEC §3/§4: the name is the file name without `.json`, wherever it sits in the tree. */
export function configNameOf(filePath: string): string {
  const base = filePath.slice(Math.max(filePath.lastIndexOf('/'), filePath.lastIndexOf('\\')) + 1);
  return base.slice(0, -'.json'.length);
}
