/**
 * A run's output behind a disclosure. While the run is live it follows the output stream
 * (SSE, see live-output.ts); a finished run's stored output is read once.
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, need } from './api.js';
import { useLiveOutput } from './live-output.js';
import { ErrorBox, useLoad } from './widgets.js';

export function RunOutput({ id, live }: { id: string; live: boolean }) {
  const [open, setOpen] = useState(false);
  return html`<details onToggle=${(e: Event) => setOpen((e.target as HTMLDetailsElement).open)}>
    <summary>Output</summary>
    ${open && (live ? html`<${LiveText} id=${id} />` : html`<${OutputText} id=${id} />`)}
  </details>`;
}

/** The output as it comes (stdout and stderr in the order they came), the last 64 KiB. */
export function LiveText({ id, label, onEnd }: { id: string; label?: string; onEnd?: () => void }) {
  const live = useLiveOutput(id, onEnd);
  return html`${live.error && html`<${ErrorBox} message=${live.error} />`}
    <pre class="output" tabindex="0" aria-label=${label ?? 'Output so far'} aria-live="off">
${live.text.slice(-8000) || (live.ended ? '(no output)' : '(no output yet)')}</pre>`;
}

function OutputText({ id }: { id: string }) {
  const run = useLoad(() => need(api.GET('/api/v1/runs/{id}', { params: { path: { id } } })), id, 0);
  if (run.error) return html`<${ErrorBox} message=${run.error} />`;
  if (!run.data) return html`<p class="muted">Loading…</p>`;
  const text = run.data.stdout + (run.data.stderr ? `\n${run.data.stderr}` : '');
  return html`<pre class="output" tabindex="0" aria-label="Output so far">
${text.slice(-8000) || '(no output yet)'}</pre>`;
}
