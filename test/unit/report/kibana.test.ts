import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { RUN_FIELD_TYPES } from '../../../src/report/template.js';

interface SavedObject {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  references: { type: string; id: string; name: string }[];
}

const lines = readFileSync(new URL('../../../kibana/distcron.ndjson', import.meta.url), 'utf8')
  .trimEnd()
  .split('\n');
const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
const isSummary = (o: Record<string, unknown>) => 'exportedCount' in o;
const objects = parsed.filter((o) => !isSummary(o)) as unknown as SavedObject[];
const MAPPED_FIELDS = new Set<string>([...Object.keys(RUN_FIELD_TYPES), 'error.keyword']);

/** Values of JSON-in-a-string attributes (panelsJSON, searchSourceJSON, ...) parsed in place. */
function expand(value: unknown): unknown {
  if (typeof value === 'string' && /^[[{]/.test(value)) {
    try {
      return expand(JSON.parse(value));
    } catch {
      return value;
    }
  }
  if (Array.isArray(value)) return value.map(expand);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v)]));
  return value;
}

/** Every field name a saved object refers to: Lens columns, sorts, saved-search columns, KQL, formats. */
function referencedFields(object: SavedObject): string[] {
  const fields: string[] = [];
  const visit = (node: unknown, key = ''): void => {
    if (Array.isArray(node)) {
      if (key === 'columns' && node.every((c) => typeof c === 'string')) fields.push(...(node as string[]));
      if (key === 'sort') fields.push(...(node as string[][]).map((s) => s[0]!));
      node.forEach((n) => visit(n));
      return;
    }
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if ((k === 'sourceField' || k === 'sortField' || k === 'timeFieldName') && v !== '___records___')
        fields.push(String(v));
      if (k === 'fieldFormatMap') fields.push(...Object.keys(v as object));
      if (k === 'query' && typeof v === 'string')
        fields.push(...[...v.matchAll(/([\w@.]+)\s*:/g)].map((m) => m[1]!));
      visit(v, k);
    }
  };
  visit(expand(object.attributes));
  return fields;
}

describe('kibana/distcron.ndjson', () => {
  it('is one saved object per line, each with type, id and attributes', () => {
    expect(objects.length).to.be.greaterThan(0);
    for (const o of objects) {
      expect(o.type, JSON.stringify(o).slice(0, 80)).to.be.a('string');
      expect(o.id).to.be.a('string');
      expect(o.attributes).to.be.an('object');
      expect(o.references).to.be.an('array');
    }
  });

  it('ends with an export summary that counts the objects', () => {
    const summary = parsed.at(-1)!;
    expect(summary).to.include({ exportedCount: objects.length, missingRefCount: 0 });
    expect(parsed.filter(isSummary)).to.have.length(1);
  });

  it('has unique ids per type', () => {
    const keys = objects.map((o) => `${o.type}/${o.id}`);
    expect(new Set(keys).size).to.equal(keys.length);
  });

  it('resolves every reference to an object in the file', () => {
    const present = new Set(objects.map((o) => `${o.type}/${o.id}`));
    for (const o of objects)
      for (const ref of o.references)
        expect(present, `${o.id} → ${ref.type}/${ref.id}`).to.include(`${ref.type}/${ref.id}`);
  });

  it('has a distcron-runs-* data view with @timestamp as its time field', () => {
    const view = objects.find((o) => o.type === 'index-pattern')!;
    expect(view.attributes).to.include({ title: 'distcron-runs-*', timeFieldName: '@timestamp' });
  });

  it('gives every dashboard panel a reference, and shows the charts SPEC §9 asks for', () => {
    const dashboard = objects.find((o) => o.type === 'dashboard')!;
    const panels = JSON.parse(dashboard.attributes.panelsJSON as string) as {
      panelIndex: string;
      panelRefName: string;
    }[];
    const refNames = new Set(dashboard.references.map((r) => r.name));
    for (const p of panels) expect(refNames).to.include(`${p.panelIndex}:${p.panelRefName}`);
    const titles = dashboard.references.map(
      (r) => objects.find((o) => o.id === r.id)!.attributes.title as string,
    );
    for (const wanted of [
      /runs over time by status/,
      /failures by job/,
      /duration percentiles by job/,
      /slowest jobs/,
      /latest failures/,
    ])
      expect(
        titles.some((t) => wanted.test(t)),
        String(wanted),
      ).to.equal(true);
  });

  it('refers only to fields the index template maps', () => {
    const used = objects.flatMap(referencedFields);
    expect(used).to.include.members(['@timestamp', 'status', 'job', 'duration_ms', 'exit_code', 'node']);
    for (const field of used) expect(MAPPED_FIELDS, `field "${field}"`).to.include(field);
  });
});
