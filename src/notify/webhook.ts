/**
 * Webhook delivery: one POST per message with Node's fetch.
 * Redirects are not followed: a signed POST re-sent to wherever a Location header points could
 * hand the body and signature to a third party, and 301/302 would silently turn it into a GET.
 * A 3xx therefore counts as a permanent failure whose reason names the new location, so the
 * operator fixes the URL. Timeouts and network errors, 408, 429 and 5xx are retried; other 4xx
 * are permanent (dead-lettered after a few attempts).
 */
import { createHmac } from 'node:crypto';
import { DeliveryError } from './delivery-error.js';

export interface WebhookRequest {
  url: string;
  /** The exact bytes sent and signed. */
  body: string;
  /** Idempotency key, sent as `X-Distcron-Delivery`. */
  key: string;
  event: string;
  secret?: string;
  timeoutMs: number;
}

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** scheme://host[:port] only: paths and queries of webhook URLs often are secrets themselves. */
export function webhookOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * Validates the URL and moves `user:password@` credentials (which fetch refuses in a URL) into a
 * Basic Authorization header.
 */
function prepareUrl(url: string): { target: string; authorization?: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DeliveryError('webhook: the URL is not valid; fix it in the job definition', true);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new DeliveryError(`webhook: only http and https URLs are supported, not ${parsed.protocol}`, true);
  }
  if (!parsed.username && !parsed.password) return { target: url };
  const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  parsed.username = '';
  parsed.password = '';
  return { target: parsed.toString(), authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
}

export function classifyStatus(
  status: number,
  location: string | null,
  origin: string,
): DeliveryError | null {
  if (status >= 200 && status < 300) return null;
  if (status >= 300 && status < 400) {
    const where = location ? webhookOrigin(new URL(location, origin).toString()) : 'an unknown location';
    return new DeliveryError(
      `webhook: ${origin} answered ${status} redirecting to ${where}; redirects are not followed, update the webhook URL`,
      true,
    );
  }
  const transient = status === 408 || status === 429 || status >= 500;
  return new DeliveryError(`webhook: ${origin} answered HTTP ${status}`, !transient);
}

/** Error text never carries the URL beyond its origin (paths and userinfo can be secrets). */
function networkError(err: unknown, req: WebhookRequest, target: string): DeliveryError {
  const origin = webhookOrigin(req.url);
  const e = err as { name?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return new DeliveryError(`webhook: ${origin} did not answer within ${req.timeoutMs} ms`, false);
  }
  const cause = e.cause?.code ?? e.cause?.message ?? String((err as Error).message ?? err);
  const safe = cause.split(req.url).join(origin).split(target).join(origin);
  return new DeliveryError(`webhook: POST to ${origin} failed (${safe}); will retry`, false);
}

export async function postWebhook(req: WebhookRequest): Promise<void> {
  const { target, authorization } = prepareUrl(req.url);
  const origin = webhookOrigin(req.url);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'distcron',
    'x-distcron-delivery': req.key,
    'x-distcron-event': req.event,
  };
  if (req.secret !== undefined) headers['x-distcron-signature'] = signature(req.secret, req.body);
  if (authorization) headers.authorization = authorization;
  let response: Response;
  try {
    response = await fetch(target, {
      method: 'POST',
      headers,
      body: req.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(req.timeoutMs),
    });
  } catch (err) {
    throw networkError(err, req, target);
  }
  await response.body?.cancel().catch(() => undefined);
  const failure = classifyStatus(response.status, response.headers.get('location'), origin);
  if (failure) throw failure;
}
