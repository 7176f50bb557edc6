/**
 * A run's output behind a disclosure. While the run is live it is read again every two seconds
 * (the stored output so far; the streaming output API will replace this when it exists).
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, need } from './api.js';
import { ErrorBox, useLoad } from './widgets.js';

export function RunOutput({ id, live }: { id: string; live: boolean }) {
  const [open, setOpen] = useState(false);
  return html`<details onToggle=${(e: Event) => setOpen((e.target as HTMLDetailsElement).open)}>
    <summary>Output</summary>
    ${open && html`<${OutputText} id=${id} live=${live} />`}
  </details>`;
}

function OutputText({ id, live }: { id: string; live: boolean }) {
  const run = useLoad(
    () => need(api.GET('/api/v1/runs/{id}', { params: { path: { id } } })),
    id,
    live ? 2000 : 0,
  );
  if (run.error) return html`<${ErrorBox} message=${run.error} />`;
  if (!run.data) return html`<p class="muted">Loading…</p>`;
  const text = run.data.stdout + (run.data.stderr ? `\n${run.data.stderr}` : '');
  return html`<pre class="output" tabindex="0" aria-label="Output so far">
${text.slice(-8000) || '(no output yet)'}</pre>`;
}
