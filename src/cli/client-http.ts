/** The CLI's HTTP access to a daemon's REST API (fetch, bearer token, API error shape). */

export interface ApiTarget {
  /** Base URL of the daemon, e.g. http://127.0.0.1:8080 */
  api: string;
  token?: string;
  signal?: AbortSignal;
}

export class ClientError extends Error {
  constructor(
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

interface ApiErrorBody {
  error?: { code?: string; message?: string; details?: { problems?: { message?: string }[] } | null };
}

function errorMessage(status: number, body: unknown): string {
  const error = (body as ApiErrorBody | undefined)?.error;
  const problems = error?.details?.problems?.map((p) => `  ${p.message}`) ?? [];
  const base = error?.message ?? `HTTP ${status}`;
  const hint = status === 401 ? ' (set DISTCRON_TOKEN)' : '';
  return [`${base}${hint}`, ...problems].join('\n');
}

/** One API call; resolves with the parsed JSON body of a 2xx answer, throws ClientError otherwise. */
export async function apiCall<T>(
  target: ApiTarget,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const url = new URL(path, target.api.endsWith('/') ? target.api : `${target.api}/`);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  // The API refuses writes without this header, also bodiless ones (cross-site requests cannot set it).
  if (body !== undefined || method !== 'GET') headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: target.signal,
    });
  } catch (err) {
    if (target.signal?.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new ClientError(
      `client: cannot reach the distcron API at ${target.api} (${cause?.code ?? cause?.message ?? (err as Error).message}); ` +
        'is the daemon running? pass --api URL',
    );
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!res.ok) throw new ClientError(errorMessage(res.status, parsed), res.status);
  return parsed as T;
}
