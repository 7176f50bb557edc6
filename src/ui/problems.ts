/** Problems: config files that failed to load (every role), dead-lettered notifications (admin). */
import { html } from 'htm/preact';
import { api, may, need, type Role } from './api.js';
import { when } from './format.js';
import { ErrorBox, Loading, TableFrame, useLoad } from './widgets.js';

export function ProblemsView({ role }: { role: Role }) {
  const errors = useLoad(() => need(api.GET('/api/v1/config/errors')), 'config', 10_000);
  return html`<section aria-labelledby="problems-title">
    <h1 id="problems-title">Problems</h1>
    <h2>Config errors</h2>
    <${ErrorBox} message=${errors.error} />
    <${Loading} loaded=${errors} />
    ${errors.data && errors.data.errors.length === 0 && html`<p>Every config file loads.</p>`}
    ${
      errors.data &&
      errors.data.errors.length > 0 &&
      html`<ul class="problems">
        ${errors.data.errors.map(
          (p) =>
            html`<li>
              <code>${p.file}:${p.line}:${p.column}</code> <strong>${p.severity}</strong>: ${p.message}
              ${p.path && html` <span class="muted">(${p.path})</span>`}
            </li>`,
        )}
      </ul>`
    }
    ${may(role, 'admin') && html`<${DeadLetters} />`}
  </section>`;
}

function DeadLetters() {
  const letters = useLoad(
    () => need(api.GET('/api/v1/dead-letters', { params: { query: { limit: 100 } } })),
    'dead',
    0,
  );
  return html`<h2>Dead letters</h2>
    <p class="muted">Notifications that could not be delivered and were given up on (newest first).</p>
    <${ErrorBox} message=${letters.error} />
    ${letters.data && letters.data.dead_letters.length === 0 && html`<p>None.</p>`}
    ${
      letters.data &&
      letters.data.dead_letters.length > 0 &&
      html`<${TableFrame} label="Dead letters">
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Sink</th>
              <th scope="col">Key</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            ${letters.data.dead_letters.map(
              (d) =>
                html`<tr key=${d.id}>
                  <td>${when(d.created_at)}</td>
                  <td>${d.sink}</td>
                  <td><code>${d.key}</code></td>
                  <td>${d.reason}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      <//>`
    }`;
}
