/** Nodes: up or down, the last error, runs in flight, roles and labels. */
import { html } from 'htm/preact';
import { api, need } from './api.js';
import { ago } from './format.js';
import { href } from './route.js';
import { ErrorBox, Loading, TableFrame, useLoad } from './widgets.js';

export function NodesView() {
  const nodes = useLoad(() => need(api.GET('/api/v1/nodes')), 'nodes', 5000);
  return html`<section aria-labelledby="nodes-title">
    <h1 id="nodes-title">Nodes</h1>
    <${ErrorBox} message=${nodes.error} />
    <${Loading} loaded=${nodes} />
    ${
      nodes.data &&
      html`<${TableFrame} label="Nodes">
        <table>
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">State</th>
              <th scope="col">Runs in flight</th>
              <th scope="col">Roles</th>
              <th scope="col">Labels</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            ${nodes.data.nodes.map(
              (node) =>
                html`<tr key=${node.name} data-node=${node.name}>
                  <th scope="row">
                    <a href=${href('history', { node: node.name })}>${node.name}</a>
                    <div class="muted small">
                      ${node.connection_type}${node.address ? ` ${node.user ?? ''}@${node.address}` : ''}
                    </div>
                  </th>
                  <td>
                    <span class=${`status tone-${node.disabled ? 'quiet' : node.health.up ? 'good' : 'bad'}`}>
                      <span aria-hidden="true">${node.disabled ? '⊘' : node.health.up ? '▲' : '▼'} </span>
                      ${node.disabled ? 'disabled' : node.health.up ? 'up' : 'down'}
                    </span>
                    ${node.health.last_checked_at && html`<div class="muted small">checked ${ago(node.health.last_checked_at)}</div>`}
                  </td>
                  <td>${node.runs_in_flight} of ${node.max_concurrent_runs}</td>
                  <td>${node.roles.join(', ') || '—'}</td>
                  <td>${Object.entries(node.labels).map(([k, v]) => html`<code>${k}=${v}</code> `)}</td>
                  <td>${node.health.last_error ?? '—'}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      <//>`
    }
  </section>`;
}
