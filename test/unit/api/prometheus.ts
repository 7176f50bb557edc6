/** A strict reader of the Prometheus text exposition format (0.0.4), for tests. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([^ ]+)( -?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (!m) throw new Error(`bad labels in: ${line}`);
    labels[m[1]!] = m[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  }
  return labels;
}

function parseValue(raw: string, line: string): number {
  const special: Record<string, number> = { '+Inf': Infinity, '-Inf': -Infinity, NaN: NaN };
  const value = raw in special ? special[raw]! : Number(raw);
  if (!(raw in special) && !Number.isFinite(value)) throw new Error(`bad value in: ${line}`);
  return value;
}

/** Throws on any line that is not HELP, TYPE, blank or a well-formed sample. */
export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a Prometheus line: ${line}`);
    samples.push({
      name: m[1]!,
      labels: m[3] ? parseLabels(m[3], line) : {},
      value: parseValue(m[4]!, line),
    });
  }
  return { types, samples };
}

/** The SPEC §13 metrics and their types (src/core/metrics.ts). */
export const SPEC_METRICS: Record<string, string> = {
  distcron_runs_total: 'counter',
  distcron_run_duration_seconds: 'histogram',
  distcron_schedule_lateness_seconds: 'histogram',
  distcron_nodes_up: 'gauge',
  distcron_nodes_down: 'gauge',
  distcron_ssh_connections_open: 'gauge',
  distcron_outbox_backlog: 'gauge',
  distcron_config_errors: 'gauge',
};
