/** Test texts mark the expected problem location with ⟪ (removed before parsing). */
export const MARK = '⟪';

export function marked(source: string): { text: string; line: number; column: number } {
  const at = source.indexOf(MARK);
  if (at === -1 || source.indexOf(MARK, at + 1) !== -1)
    throw new Error(`test text needs exactly one ${MARK}: ${source}`);
  const before = source.slice(0, at);
  const line = before.split('\n').length;
  const column = at - (before.lastIndexOf('\n') + 1) + 1;
  return { text: before + source.slice(at + MARK.length), line, column };
}
