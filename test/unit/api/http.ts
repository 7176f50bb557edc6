import { ResponseChecker } from './openapi-check.js';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body (undefined when the body is empty or not JSON). */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface CallOptions {
  token?: string;
  /** An object is sent as JSON; a string is sent as is (set contentType yourself). */
  body?: unknown;
  /** Default application/json on writes (with or without a body); null sends none. */
  contentType?: string | null;
  headers?: Record<string, string>;
}

/** A tiny HTTP client for tests: every reply is checked against the OpenAPI document. */
export class ApiCaller {
  constructor(
    readonly baseUrl: string,
    readonly checker: ResponseChecker,
    private readonly defaultToken?: string,
  ) {}

  async call(method: string, path: string, options: CallOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token ?? this.defaultToken;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (options.body !== undefined)
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    const write = !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());
    const type =
      options.contentType === undefined ? (write ? 'application/json' : undefined) : options.contentType;
    if (type !== null && type !== undefined && !('content-type' in headers)) headers['content-type'] = type;
    const res = await fetch(this.baseUrl + path, { method, headers, body });
    const text = await res.text();
    const pathname = new URL(this.baseUrl + path).pathname;
    this.checker.check(method, pathname, res.status, res.headers.get('content-type'), text);
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  get(path: string, options?: CallOptions): Promise<Reply> {
    return this.call('GET', path, options);
  }

  post(path: string, body?: unknown, options: CallOptions = {}): Promise<Reply> {
    return this.call('POST', path, { ...options, body });
  }

  put(path: string, body: unknown, options: CallOptions = {}): Promise<Reply> {
    return this.call('PUT', path, { ...options, body });
  }

  delete(path: string, options?: CallOptions): Promise<Reply> {
    return this.call('DELETE', path, options);
  }
}
