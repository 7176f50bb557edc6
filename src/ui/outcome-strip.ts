/** A bar strip of a job's last 50 outcomes, oldest left; failures are tall, so it reads without colour. */
import { html } from 'htm/preact';
import { api, need } from './api.js';
import { statusText, statusTone, when } from './format.js';
import { href } from './route.js';
import { useLoad } from './widgets.js';

export function OutcomeStrip({ job }: { job: string }) {
  const runs = useLoad(
    () =>
      need(api.GET('/api/v1/jobs/{name}/runs', { params: { path: { name: job }, query: { limit: 50 } } })),
    job,
  );
  const list = [...(runs.data?.runs ?? [])].reverse();
  const counts = new Map<string, number>();
  for (const r of list) counts.set(statusText(r.status), (counts.get(statusText(r.status)) ?? 0) + 1);
  const summary = [...counts].map(([s, n]) => `${n} ${s}`).join(', ') || 'no runs';
  return html`<div class="strip-row">
    <a class="strip-job" href=${href('history', { job })}>${job}</a>
    <span class="strip" role="img" aria-label=${`${job}, last ${list.length} outcomes: ${summary}`}>
      ${list.map(
        (r) =>
          html`<span
            class=${`bar tone-${statusTone(r.status)}`}
            title=${`${statusText(r.status)} · ${when(r.started_at ?? r.scheduled_at)}`}
          ></span>`,
      )}
    </span>
    <span class="muted small">${summary}</span>
  </div>`;
}
