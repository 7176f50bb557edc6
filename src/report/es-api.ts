import { readFileSync } from 'node:fs';
import { Client, errors } from '@elastic/elasticsearch';

type ClientOptions = ConstructorParameters<typeof Client>[0];
import { INDEX_TEMPLATE_NAME, runsIndexTemplate, TEMPLATE_VERSION } from './template.js';

export type EsAuth = { apiKey: string } | { username: string; password: string };

export interface EsConnectionOptions {
  /** Cluster URL, e.g. http://127.0.0.1:9200 (credentials belong in `auth`, not the URL). */
  url: string;
  auth?: EsAuth;
  /** PEM file of the CA that signed the cluster's certificate. */
  caFile?: string;
  requestTimeoutMs?: number;
}

export const ES_CONNECTION_DEFAULTS = { requestTimeoutMs: 30_000 } as const;

/** Outcome of one document in a bulk request, in request order. */
export interface BulkItemOutcome {
  status: number;
  /** `type: reason` when Elasticsearch refused the document. */
  error: string | null;
}

export type TemplateInstall = 'created' | 'updated' | 'unchanged';

/**
 * The few Elasticsearch calls distcron makes, over @elastic/elasticsearch 9. A 9.x client sends
 * `compatible-with=9` media types, which 8.x clusters refuse; the first such refusal switches
 * this connection to `compatible-with=8`, which both 8.x and 9.x servers accept.
 */
export class EsApi {
  private readonly client: Client;
  private compatibleWith: 8 | 9 = 9;

  constructor(options: EsConnectionOptions) {
    this.client = new Client(clientOptions(options));
  }

  get apiCompatibility(): 8 | 9 {
    return this.compatibleWith;
  }

  /** Puts the index template unless the cluster already has this version or a newer one. */
  async installTemplate(signal?: AbortSignal): Promise<TemplateInstall> {
    const current = await this.templateVersion(signal);
    if (current !== null && current >= TEMPLATE_VERSION) return 'unchanged';
    await this.compat('json', (headers) =>
      this.client.indices.putIndexTemplate(
        { name: INDEX_TEMPLATE_NAME, ...runsIndexTemplate() },
        { headers, signal },
      ),
    );
    return current === null ? 'created' : 'updated';
  }

  private async templateVersion(signal?: AbortSignal): Promise<number | null> {
    try {
      const res = await this.compat('json', (headers) =>
        this.client.indices.getIndexTemplate({ name: INDEX_TEMPLATE_NAME }, { headers, signal }),
      );
      const found = res.index_templates.find((t) => t.name === INDEX_TEMPLATE_NAME);
      return found ? (found.index_template.version ?? 0) : null;
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return null;
      throw err;
    }
  }

  /** Sends pre-serialized NDJSON lines (action + source pairs); one outcome per document. */
  async bulk(lines: string[], signal?: AbortSignal): Promise<BulkItemOutcome[]> {
    const res = await this.compat('ndjson', (headers) =>
      this.client.bulk(
        { operations: lines, filter_path: ['errors', 'items.*.status', 'items.*.error'] },
        { headers, signal },
      ),
    );
    return (res.items ?? []).map((item) => {
      const result = Object.values(item)[0];
      const error = result?.error ? `${result.error.type}: ${result.error.reason ?? ''}`.trim() : null;
      return { status: result?.status ?? 0, error };
    });
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private async compat<T>(
    body: 'json' | 'ndjson',
    call: (headers: Record<string, string>) => Promise<T>,
  ): Promise<T> {
    try {
      return await call(this.headers(body));
    } catch (err) {
      if (this.compatibleWith === 9 && isMediaTypeRefusal(err)) {
        this.compatibleWith = 8;
        return call(this.headers(body));
      }
      throw err;
    }
  }

  private headers(body: 'json' | 'ndjson'): Record<string, string> {
    if (this.compatibleWith === 9) return {};
    const json = 'application/vnd.elasticsearch+json; compatible-with=8';
    const contentType =
      body === 'ndjson' ? 'application/vnd.elasticsearch+x-ndjson; compatible-with=8' : json;
    return { accept: json, 'content-type': contentType };
  }
}

function isMediaTypeRefusal(err: unknown): boolean {
  if (!(err instanceof errors.ResponseError) || err.statusCode !== 400) return false;
  const type = (err.body as { error?: { type?: string } } | undefined)?.error?.type;
  return type === 'media_type_header_exception';
}

function clientOptions(options: EsConnectionOptions): ClientOptions {
  const clientOpts: ClientOptions = {
    node: options.url,
    maxRetries: 0, // the shipper owns retries (backoff with jitter, durable outbox)
    requestTimeout: options.requestTimeoutMs ?? ES_CONNECTION_DEFAULTS.requestTimeoutMs,
    redaction: { type: 'replace' },
  };
  if (options.auth) clientOpts.auth = options.auth;
  if (options.caFile) clientOpts.tls = { ca: readCa(options.caFile) };
  return clientOpts;
}

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`report: cannot read the Elasticsearch CA file ${file}: ${(err as Error).message}`);
  }
}

/** A failure worth retrying later versus one that will never succeed. */
export function isTransientItemStatus(status: number, error: string | null): boolean {
  if (status === 429 || status >= 500) return true;
  // A read-only block (disk flood stage) lifts once space is freed.
  return error !== null && error.startsWith('cluster_block_exception');
}

/** Error text safe to log: no URL credentials, no headers. */
export function describeEsError(err: unknown): string {
  if (err instanceof errors.ResponseError) {
    const type = (err.body as { error?: { type?: string; reason?: string } } | undefined)?.error;
    return `HTTP ${err.statusCode}${type ? ` ${type.type}: ${type.reason ?? ''}` : ''}`.trim();
  }
  if (err instanceof Error) return `${err.name}: ${err.message}`.replace(/\/\/[^@/\s]*@/g, '//[redacted]@');
  return String(err);
}
