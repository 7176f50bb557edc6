import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { expect } from 'chai';
import { openApiDocument } from '../../../src/api/openapi.js';

type Json = Record<string, unknown>;
// ajv-formats is CommonJS; under ESM its default export is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => void;

interface Operation {
  path: string;
  method: string;
  responses: Record<string, Json>;
}

const pointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Validates every response a test receives against the OpenAPI document the server serves
 * (ajv, JSON Schema 2020-12), and remembers which operations the tests exercised.
 */
export class ResponseChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly operations: { pattern: RegExp; op: Operation }[] = [];
  readonly exercised = new Set<string>();

  constructor(readonly doc: Json = openApiDocument()) {
    addFormats(this.ajv);
    this.ajv.addSchema(doc, 'openapi');
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
      const pattern = new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      for (const [method, op] of Object.entries(item))
        this.operations.push({
          pattern,
          op: { path, method, responses: op.responses as Record<string, Json> },
        });
    }
  }

  private find(method: string, rawPath: string): Operation | undefined {
    const path = rawPath.length > 1 ? rawPath.replace(/\/$/, '') : rawPath; // express ignores one trailing "/"
    // Literal paths win over templates (/api/v1/openapi.json is not a job).
    const matches = this.operations.filter((o) => o.op.method === method && o.pattern.test(path));
    return matches.find((m) => !m.op.path.includes('{'))?.op ?? matches[0]?.op;
  }

  private validator(ref: string): ValidateFunction {
    let fn = this.compiled.get(ref);
    if (!fn) {
      fn = this.ajv.getSchema(ref);
      if (!fn) throw new Error(`no schema at ${ref}`);
      this.compiled.set(ref, fn);
    }
    return fn;
  }

  /** Compiles the schema of every JSON response of every operation; returns how many. */
  compileAll(): number {
    let count = 0;
    for (const { op } of this.operations)
      for (const [status, response] of Object.entries(op.responses)) {
        const content = response.content as Json | undefined;
        if (!response.$ref && !content?.['application/json']) continue;
        this.validator(this.schemaRef(op, Number(status)));
        count++;
      }
    return count;
  }

  /** The schema ref for a response, following `$ref`s to components.responses. */
  private schemaRef(op: Operation | undefined, status: number): string {
    if (!op) {
      // Unknown paths (404), other methods (405), and writes to a name with a raw "/" (400).
      expect([400, 404, 405], `an undocumented route answered ${status}`).to.include(status);
      return 'openapi#/components/schemas/Error';
    }
    const response = op.responses[String(status)];
    expect(response, `${op.method.toUpperCase()} ${op.path} documents no ${status} response`).to.not.equal(
      undefined,
    );
    const base = response!.$ref
      ? `openapi${String(response!.$ref)}`
      : `openapi#/paths/${pointer(op.path)}/${op.method}/responses/${status}`;
    return `${base}/content/application~1json/schema`;
  }

  check(method: string, path: string, status: number, contentType: string | null, body: string): void {
    const m = method.toLowerCase();
    if (m === 'head' || m === 'options') return;
    const op = this.find(m, path);
    if (op) this.exercised.add(`${m} ${op.path}`);
    const response = op?.responses[String(status)];
    const content = response?.$ref ? { 'application/json': true } : (response?.content as Json | undefined);
    if (op && response && !content) {
      expect(body, `${status} should have no body`).to.equal('');
      return;
    }
    if (content?.['text/plain']) {
      expect(contentType ?? '').to.match(/^text\/plain/);
      return;
    }
    if (content?.['text/event-stream']) {
      expect(contentType ?? '').to.match(/^text\/event-stream/);
      return;
    }
    expect(contentType ?? '', `${m} ${path} ${status}`).to.match(/^application\/json/);
    const validate = this.validator(this.schemaRef(op, status));
    const parsed: unknown = JSON.parse(body);
    if (!validate(parsed))
      expect.fail(
        `${method} ${path} ${status} does not match its schema: ${this.ajv.errorsText(validate.errors)}`,
      );
  }
}
