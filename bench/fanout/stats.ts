/** Medians, ranges and the one table the fan-out benchmark prints. */

export interface Row {
  name: string;
  /** Wall seconds of each measured run. */
  samples: number[];
  note?: string;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function fmt(seconds: number): string {
  return seconds < 1 ? seconds.toFixed(3) : seconds.toFixed(2);
}

function ratio(a: number, b: number | undefined): string {
  if (b === undefined || b === 0) return '-';
  const r = a / b;
  return r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(2)}×`;
}

/** One table: median, min–max, and each row relative to the bare-ssh2 floors and to parallel-ssh. */
export function renderTable(
  rows: Row[],
  refs: { warmFloor?: string; coldFloor?: string; pssh?: string },
): string {
  const med = new Map(rows.map((r) => [r.name, median(r.samples)]));
  const ref = (name?: string) => (name ? med.get(name) : undefined);
  const header = [
    '',
    'median s',
    'min–max s',
    'n',
    '÷ floor warm',
    '÷ floor cold',
    '÷ pssh curve25519',
    'note',
  ];
  const body = rows.map((r) => {
    const m = med.get(r.name)!;
    const range = `${fmt(Math.min(...r.samples))}–${fmt(Math.max(...r.samples))}`;
    return [
      r.name,
      fmt(m),
      range,
      String(r.samples.length),
      ratio(m, ref(refs.warmFloor)),
      ratio(m, ref(refs.coldFloor)),
      ratio(m, ref(refs.pssh)),
      r.note ?? '',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  const sep = '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|';
  return [line(header), sep, ...body.map(line)].join('\n');
}
