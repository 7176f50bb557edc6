/** `distcron run` flags → the run request body's parts. Pure. */

/** Commander collector: `--node a --node b` and `--node a,b` both add to the list. */
export function collectNodes(value: string, previous: string[] = []): string[] {
  const names = value.split(',').map((n) => n.trim());
  if (names.some((n) => n === ''))
    throw new Error(`distcron: --node expects node names (a,b or repeated --node), got "${value}"`);
  return [...previous, ...names];
}

/** Commander collector for a repeatable `--param K=V` (a value may itself hold "=" or ","). */
export function collectPairs(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `K=V` pairs to an object; a name given twice is a mistake, not "last wins". */
export function parsePairs(
  flag: string,
  pairs: readonly string[] | undefined,
): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`distcron: ${flag} expects NAME=VALUE, got "${pair}"`);
    const name = pair.slice(0, eq);
    if (Object.hasOwn(out, name)) throw new Error(`distcron: ${flag} ${name} is given twice`);
    out[name] = pair.slice(eq + 1);
  }
  return out;
}

/** Distinct node names in the order given. */
export function distinctNodes(nodes: readonly string[] | undefined): string[] | undefined {
  return nodes?.length ? [...new Set(nodes)] : undefined;
}
