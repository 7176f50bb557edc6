/** `owners` and `notify` of a job → typed values. Pure. */
import { NOTIFY_EVENTS, type JobDef, type NotifyEvent, type WebhookDef } from '../core/types.js';
import {
  arrayItems,
  objectFields,
  readDuration,
  readEnum,
  readString,
  type Fields,
  type Located,
  type ProblemSink,
} from './checks.js';
import { NO_NOTIFY } from './shared-defaults.js';

export { NOTIFY_EVENTS };
const DEFAULT_EVENTS: NotifyEvent[] = ['failure', 'recovery'];
const NO_FIELDS: Fields = new Map<string, Located>();
// Deliberately loose: one "@", no spaces, a dot in the domain. The SMTP server is the real judge.
const EMAIL = /^[^\s@"<>,;]+@[^\s@"<>,;]+\.[^\s@"<>,;]+$/;
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseOwners(sink: ProblemSink, at: Located | undefined): JobDef['owners'] | undefined {
  if (!at) return [];
  const items = arrayItems(sink, at, 'an array of {"name": ..., "email_address": ...} objects');
  if (!items) return undefined;
  const owners: JobDef['owners'] = [];
  for (const item of items) {
    const fields = objectFields(sink, item, ['name', 'email_address'], {
      email: 'write it as "email_address"',
    });
    if (!fields) continue;
    const nameField = fields.get('name');
    const name = nameField ? readString(sink, nameField) : undefined;
    const emailField = fields.get('email_address');
    if (!emailField) {
      sink.error(item, 'owner has no "email_address"; add one, e.g. "email_address": "ops@example.com"');
      continue;
    }
    const email = readEmail(sink, emailField);
    if (email !== undefined) owners.push(name === undefined ? { email } : { name, email });
  }
  return owners;
}

function readEmail(sink: ProblemSink, at: Located): string | undefined {
  const value = readString(sink, at);
  if (value === undefined) return undefined;
  if (!EMAIL.test(value)) return sink.error(at, `"${value}" is not an e-mail address like "ops@example.com"`);
  return value;
}

export function parseNotify(
  sink: ProblemSink,
  at: Located | undefined,
  hasOwners: boolean,
): JobDef['notify'] | undefined {
  if (!at && !hasOwners) return NO_NOTIFY;
  // remindEveryMs stays unset unless the job says so: the daemon's --remind-every is the default.
  const notify: JobDef['notify'] = { on: [], email: [], webhooks: [] };
  const fields: Fields | undefined = at
    ? objectFields(sink, at, ['on', 'email', 'webhooks', 'remind_every'])
    : NO_FIELDS;
  if (!fields) return undefined;
  const emailField = fields.get('email');
  if (emailField) notify.email = readEmails(sink, emailField);
  const hooksField = fields.get('webhooks');
  if (hooksField) notify.webhooks = parseWebhooks(sink, hooksField);
  const onField = fields.get('on');
  const anyRecipient = hasOwners || notify.email.length > 0 || notify.webhooks.length > 0;
  notify.on = onField ? (readEvents(sink, onField) ?? []) : anyRecipient ? [...DEFAULT_EVENTS] : [];
  const remindField = fields.get('remind_every');
  if (remindField) notify.remindEveryMs = readDuration(sink, remindField, 60_000);
  return notify;
}

function readEmails(sink: ProblemSink, at: Located): string[] {
  const items = arrayItems(sink, at, 'an array of e-mail addresses');
  return (items ?? []).map((item) => readEmail(sink, item)).filter((e): e is string => e !== undefined);
}

function readEvents(sink: ProblemSink, at: Located): NotifyEvent[] | undefined {
  const items = arrayItems(sink, at, `an array of events (${NOTIFY_EVENTS.map((e) => `"${e}"`).join(', ')})`);
  if (!items) return undefined;
  const events = items.map((item) => readEnum(sink, item, NOTIFY_EVENTS));
  return events.every((e) => e !== undefined) ? [...new Set(events)] : undefined;
}

function parseWebhooks(sink: ProblemSink, at: Located): WebhookDef[] {
  const items = arrayItems(sink, at, 'an array of {"url": ...} objects');
  return (items ?? [])
    .map((item) => parseWebhook(sink, item))
    .filter((w): w is WebhookDef => w !== undefined);
}

function parseWebhook(sink: ProblemSink, at: Located): WebhookDef | undefined {
  const fields = objectFields(sink, at, ['url', 'on', 'secret', 'secret_env', 'format']);
  if (!fields) return undefined;
  const urlField = fields.get('url');
  if (!urlField) return sink.error(at, 'webhook has no "url"; add e.g. "url": "https://hooks.example.com/x"');
  const url = readUrl(sink, urlField);
  const formatField = fields.get('format');
  const hook: WebhookDef = {
    url: url ?? '',
    format: formatField ? (readEnum(sink, formatField, ['json', 'slack'] as const) ?? 'json') : 'json',
  };
  const onField = fields.get('on');
  if (onField) hook.on = readEvents(sink, onField);
  readSecret(sink, fields, hook);
  return url === undefined ? undefined : hook;
}

function readUrl(sink: ProblemSink, at: Located): string | undefined {
  const value = readString(sink, at, { nonEmpty: true });
  if (value === undefined) return undefined;
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:'))
    return sink.error(at, `webhook "url" must be an absolute http:// or https:// URL, not "${value}"`);
  return value;
}

function readSecret(sink: ProblemSink, fields: Fields, hook: WebhookDef): void {
  const secretField = fields.get('secret');
  const envField = fields.get('secret_env');
  if (secretField && envField) {
    sink.errorAtKey(envField, 'give either "secret" or "secret_env", not both');
    return;
  }
  if (secretField) {
    // Never echo a secret back, not even a mistyped one.
    const value: unknown = secretField.node.value;
    if (typeof value === 'string' && value !== '') hook.secret = value;
    else
      sink.error(
        secretField,
        '"secret" must be a non-empty string (or use "secret_env" to read it from the environment)',
      );
  }
  if (envField) {
    const name = readString(sink, envField, { nonEmpty: true });
    if (name !== undefined && !ENV_NAME.test(name))
      sink.error(
        envField,
        `"secret_env" must be an environment variable name like "HOOK_SECRET", not "${name}"`,
      );
    else if (name !== undefined) hook.secretEnv = name;
  }
}
