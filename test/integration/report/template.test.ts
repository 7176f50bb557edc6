import { expect } from 'chai';
import { runEsSetup } from '../../../src/cli/es-setup.js';
import { INDEX_TEMPLATE_NAME, RUN_FIELD_TYPES, TEMPLATE_VERSION } from '../../../src/report/template.js';
import { ES_TEST_VERSIONS, type EsTestServer } from '../../harness/elasticsearch.js';
import { esJson, esOrSkip } from './fixtures.js';

interface TemplateResponse {
  index_templates: { name: string; index_template: { index_patterns: string[]; version: number } }[];
}
type MappingResponse = Record<string, { mappings: { properties: Record<string, { type?: string }> } }>;

for (const [label, version] of [
  ['9.x', ES_TEST_VERSIONS.v9],
  ['8.x', ES_TEST_VERSIONS.v8],
] as const) {
  describe(`index template distcron-runs on a real Elasticsearch ${label} (${version})`, function () {
    this.timeout(300_000);
    let es: EsTestServer;

    before(async function () {
      es = await esOrSkip(this, `report template ${label}`, version);
      await esJson(`${es.url}/_index_template/${INDEX_TEMPLATE_NAME}`, { method: 'DELETE' }).catch(
        () => undefined,
      );
      await esJson(`${es.url}/distcron-runs-2040.01`, { method: 'DELETE' }).catch(() => undefined);
    });

    it('is created by es-setup and reported unchanged when run again', async () => {
      const first = await runEsSetup({ url: es.url });
      const second = await runEsSetup({ url: es.url });
      expect(first.result).to.equal('created');
      expect(second.result).to.equal('unchanged');
      expect(first.apiCompatibility).to.equal(label === '9.x' ? 9 : 8);
    });

    it('matches distcron-runs-* and carries the template version', async () => {
      const res = await esJson<TemplateResponse>(`${es.url}/_index_template/${INDEX_TEMPLATE_NAME}`);
      const template = res.index_templates.find((t) => t.name === INDEX_TEMPLATE_NAME)!.index_template;
      expect(template.index_patterns).to.deep.equal(['distcron-runs-*']);
      expect(template.version).to.equal(TEMPLATE_VERSION);
    });

    it('gives a new monthly index every field the type SPEC §9 asks for', async () => {
      await esJson(`${es.url}/distcron-runs-2040.01/_doc/r1`, {
        method: 'PUT',
        body: JSON.stringify({ '@timestamp': '2040-01-01T00:00:00.000Z', job: 'j', exit_code: 3 }),
      });
      const res = await esJson<MappingResponse>(`${es.url}/distcron-runs-2040.01/_mapping`);
      const properties = res['distcron-runs-2040.01']!.mappings.properties;
      for (const [field, type] of Object.entries(RUN_FIELD_TYPES)) {
        expect(properties[field]?.type, field).to.equal(type);
      }
      expect(properties).to.have.property('error').that.has.nested.property('fields.keyword.type', 'keyword');
    });
  });
}
