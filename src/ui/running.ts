/** Running: every run in flight on every node, its elapsed time, its output so far; cancel. */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, may, need, type Role, type RunSummary } from './api.js';
import { duration, when } from './format.js';
import { href } from './route.js';
import { RunOutput } from './run-output.js';
import { ErrorBox, Loading, TableFrame, useLoad, useTick } from './widgets.js';

export function RunningView({ role }: { role: Role }) {
  const runs = useLoad(
    () => need(api.GET('/api/v1/runs', { params: { query: { status: 'running', limit: 1000 } } })),
    'running',
    2000,
  );
  const [failure, setFailure] = useState<string | null>(null);
  const [notice, setNotice] = useState('');
  const now = useTick(1000);

  const cancel = async (run: RunSummary) => {
    setFailure(null);
    try {
      await need(api.POST('/api/v1/runs/{id}/cancel', { params: { path: { id: run.id } }, body: {} }));
      setNotice(`Cancel requested for ${run.job} on ${run.node ?? 'its node'}.`);
      runs.reload();
    } catch (err) {
      setFailure((err as Error).message);
    }
  };

  const list = runs.data?.runs ?? [];
  return html`<section aria-labelledby="running-title">
    <h1 id="running-title">Running</h1>
    <div role="status" class="notice">${notice}</div>
    <${ErrorBox} message=${failure ?? runs.error} />
    <${Loading} loaded=${runs} />
    ${runs.data && list.length === 0 && html`<p>Nothing is running.</p>`}
    ${
      list.length > 0 &&
      html`<${TableFrame} label="Runs in flight">
        <table>
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Node</th>
              <th scope="col">Started</th>
              <th scope="col">Elapsed</th>
              <th scope="col">Trigger</th>
              <th scope="col">Output</th>
              ${may(role, 'operate') && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}
            </tr>
          </thead>
          <tbody>
            ${list.map(
              (run) =>
                html`<tr key=${run.id} data-run=${run.id}>
                  <th scope="row"><a href=${href('runs', {}, run.id)}>${run.job}</a></th>
                  <td>${run.node ?? '—'}</td>
                  <td>${when(run.started_at)}</td>
                  <td>${duration(run.started_at ? now - Date.parse(run.started_at) : null)}</td>
                  <td>${run.trigger}</td>
                  <td><${RunOutput} id=${run.id} live=${true} /></td>
                  ${
                    may(role, 'operate') &&
                    html`<td>
                      <button
                        type="button"
                        class="danger"
                        onClick=${() => cancel(run)}
                        aria-label=${`Cancel: ${run.job} on ${run.node ?? 'its node'}`}
                      >
                        Cancel
                      </button>
                    </td>`
                  }
                </tr>`,
            )}
          </tbody>
        </table>
      <//>`
    }
  </section>`;
}
