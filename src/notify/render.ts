/** Pure rendering of a Notification into an e-mail (subject, text, HTML) or a webhook body. */
import type { CommandSpec, RunRecord } from '../core/types.js';
import { shellQuote } from '../exec/quote.js';
import { scriptCommandText } from '../exec/script.js';
import type { Notification } from './message.js';
import { TAIL_LINES, tailLines } from './message.js';

export interface RenderContext {
  /** e.g. http://127.0.0.1:8080 — run links are `<apiBaseUrl>/api/v1/runs/<id>`. */
  apiBaseUrl: string;
}

/** Lines of stderr a Slack message shows (chat messages should stay short). */
export const SLACK_TAIL_LINES = 10;

export function runUrl(ctx: RenderContext, runId: string): string {
  return `${ctx.apiBaseUrl.replace(/\/+$/, '')}/api/v1/runs/${encodeURIComponent(runId)}`;
}

export function commandText(command: CommandSpec): string {
  if (command.kind === 'script') return scriptCommandText(command, shellQuote);
  return command.kind === 'argv' ? command.argv.map(shellQuote).join(' ') : command.script;
}

function durationText(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s (${ms} ms)`;
}

function outcomeDetail(run: RunRecord): string {
  if (run.signal) return `signal ${run.signal}`;
  if (run.exit_code !== null) return `exit ${run.exit_code}`;
  return '';
}

function failureHeadline(run: RunRecord): string {
  switch (run.status) {
    case 'timed_out':
      return 'TIMED OUT';
    case 'error':
      return 'ERROR';
    case 'lost':
      return 'LOST';
    default:
      return 'FAILED';
  }
}

function headline(n: Notification): string {
  switch (n.event) {
    case 'failure':
      return n.run ? failureHeadline(n.run) : 'FAILED';
    case 'recovery':
      return 'RECOVERED';
    case 'success':
      return 'SUCCEEDED';
    case 'missed':
      return 'MISSED';
    case 'still_failing':
      return 'STILL FAILING';
    case 'host_key_changed':
      return 'HOST KEY CHANGED';
  }
}

/** e.g. `[distcron] FAILED backup on db1 (exit 2)`. */
export function emailSubject(n: Notification): string {
  if (n.event === 'host_key_changed' && n.hostKey) {
    return `[distcron] HOST KEY CHANGED for node ${n.hostKey.node} (${n.hostKey.host})`;
  }
  const parts = [`[distcron] ${headline(n)} ${n.job?.name ?? n.run?.job ?? '?'}`];
  const node = n.run?.node ?? n.run?.host;
  if (node) parts.push(`on ${node}`);
  const extra = subjectExtra(n);
  if (extra) parts.push(`(${extra})`);
  return parts.join(' ');
}

function subjectExtra(n: Notification): string {
  if (n.event === 'missed') return n.run?.scheduled_at ? `scheduled ${n.run.scheduled_at}` : '';
  if (n.event === 'still_failing') return n.failingSince ? `since ${n.failingSince}` : '';
  if (n.event === 'failure' && n.run) return outcomeDetail(n.run);
  return '';
}

/** Label/value rows shared by the text and HTML bodies. */
export function factRows(n: Notification, ctx: RenderContext): [string, string][] {
  if (n.hostKey) return hostKeyRows(n);
  const rows: [string, string][] = [['Event', n.event]];
  const add = (label: string, value: string | number | null | undefined) => {
    if (value !== null && value !== undefined && value !== '') rows.push([label, String(value)]);
  };
  add('Job', n.job?.name ?? n.run?.job);
  add('Description', n.job?.description);
  if (n.job) add('Command', commandText(n.job.command));
  add('Failing since', n.failingSince);
  if (n.run) addRunRows(n.run, add, ctx);
  return rows;
}

function addRunRows(
  run: RunRecord,
  add: (label: string, value: string | number | null | undefined) => void,
  ctx: RenderContext,
): void {
  add('Status', run.status);
  add('Node', run.node);
  add('Host', run.host);
  add('Exit code', run.exit_code);
  add('Signal', run.signal);
  add('Duration', run.duration_ms === null ? null : durationText(run.duration_ms));
  add('Attempt', run.attempt);
  add('Trigger', run.trigger);
  add('Scheduled at', run.scheduled_at);
  add('Started at', run.started_at);
  add('Finished at', run.finished_at);
  add('Error', run.error);
  add('Run', runUrl(ctx, run.id));
}

function hostKeyRows(n: Notification): [string, string][] {
  const k = n.hostKey!;
  return [
    ['Event', n.event],
    ['Node', k.node],
    ['Host', k.host],
    ['Expected key', k.expected],
    ['Presented key', k.actual],
    ['Seen at', k.at],
    ['What to do', 'verify the new key out of band, then update the node definition or known_hosts'],
  ];
}

export function suppressionNotice(n: Notification): string | null {
  if (!n.suppressedUntil) return null;
  const job = n.job?.name ?? n.run?.job ?? 'this job';
  return `Flood guard: this is the last notification for job ${job} until ${n.suppressedUntil}; further notifications are suppressed until then.`;
}

function outputSections(run: RunRecord | null): { label: string; text: string }[] {
  if (!run) return [];
  return [
    { label: `stderr (last ${TAIL_LINES} lines)`, text: tailLines(run.stderr) },
    { label: `stdout (last ${TAIL_LINES} lines)`, text: tailLines(run.stdout) },
  ];
}

export function emailText(n: Notification, ctx: RenderContext): string {
  const rows = factRows(n, ctx);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines = rows.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`);
  const notice = suppressionNotice(n);
  if (notice) lines.unshift(notice, '');
  for (const section of outputSections(n.run)) {
    lines.push('', `--- ${section.label} ---`, section.text === '' ? '(empty)' : section.text);
  }
  return `${lines.join('\n')}\n`;
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function htmlValue(label: string, value: string): string {
  const escaped = escapeHtml(value);
  return label === 'Run' ? `<a href="${escaped}">${escaped}</a>` : escaped;
}

export function emailHtml(n: Notification, ctx: RenderContext): string {
  const rows = factRows(n, ctx)
    .map(
      ([label, value]) =>
        `<tr><th align="left">${escapeHtml(label)}</th><td>${htmlValue(label, value)}</td></tr>`,
    )
    .join('\n');
  const notice = suppressionNotice(n);
  const parts = [`<h2>${escapeHtml(emailSubject(n))}</h2>`];
  if (notice) parts.push(`<p><strong>${escapeHtml(notice)}</strong></p>`);
  parts.push(`<table>\n${rows}\n</table>`);
  for (const section of outputSections(n.run)) {
    parts.push(`<h3>${escapeHtml(section.label)}</h3>`, `<pre>${escapeHtml(section.text)}</pre>`);
  }
  return `<!DOCTYPE html>\n<html><body>\n${parts.join('\n')}\n</body></html>\n`;
}

/** The JSON webhook body: `{event, job, run}` plus the run's URL and the delivery key. */
export function webhookJson(
  n: Notification,
  ctx: RenderContext,
  deliveryKey: string,
): Record<string, unknown> {
  const body: Record<string, unknown> = { event: n.event, job: n.job, run: n.run };
  body.url = n.run ? runUrl(ctx, n.run.id) : null;
  if (n.failingSince) body.failing_since = n.failingSince;
  if (n.hostKey) body.host_key = n.hostKey;
  if (n.suppressedUntil) body.suppressed_until = n.suppressedUntil;
  body.delivery = deliveryKey;
  return body;
}

export function slackText(n: Notification, ctx: RenderContext): string {
  const lines = [emailSubject(n)];
  if (n.job) lines.push(`Command: \`${commandText(n.job.command)}\``);
  if (n.run) lines.push(`<${runUrl(ctx, n.run.id)}|Run ${n.run.id}>`);
  const stderr = n.run ? tailLines(n.run.stderr, SLACK_TAIL_LINES) : '';
  if (stderr !== '' && n.event !== 'success' && n.event !== 'recovery') lines.push('```' + stderr + '```');
  const notice = suppressionNotice(n);
  if (notice) lines.push(`_${notice}_`);
  return lines.join('\n');
}

/** Exact bytes of the webhook body (these bytes are what gets signed). */
export function webhookBody(
  n: Notification,
  format: 'json' | 'slack',
  ctx: RenderContext,
  key: string,
): string {
  return format === 'slack'
    ? JSON.stringify({ text: slackText(n, ctx) })
    : JSON.stringify(webhookJson(n, ctx, key));
}
