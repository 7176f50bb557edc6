/** History: finished (and running) runs, filtered by job, node, status, trigger and time; paged. */
import { html } from 'htm/preact';
import { api, need, type RunStatus, type Trigger } from './api.js';
import { duration, when } from './format.js';
import { OutcomeStrip } from './outcome-strip.js';
import { href, navigate, type Route } from './route.js';
import { ErrorBox, Loading, Pager, StatusBadge, TableFrame, useLoad } from './widgets.js';

const STATUSES: RunStatus[] = [
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'error',
  'lost',
  'skipped',
  'missed',
  'running',
];
const TRIGGERS: Trigger[] = ['schedule', 'catch_up', 'manual', 'retry', 'dependency', 'adhoc'];
const MAX_STRIPS = 10;

/** datetime-local ("2024-05-01T10:00") ⇄ ISO in the URL. */
const toIso = (local: string) => (local ? new Date(local).toISOString() : undefined);
const toLocal = (iso: string | undefined) => {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

export function HistoryView({ route }: { route: Route }) {
  const { job, node, status, trigger, since, until, cursor } = route.query;
  const runs = useLoad(
    () =>
      need(
        api.GET('/api/v1/runs', {
          params: {
            query: {
              job: job || undefined,
              node: node || undefined,
              status: (status || undefined) as RunStatus | undefined,
              trigger: (trigger || undefined) as Trigger | undefined,
              since: since || undefined,
              until: until || undefined,
              cursor,
              limit: 50,
            },
          },
        }),
      ),
    JSON.stringify(route.query),
    15_000,
  );

  const onFilter = (event: Event) => {
    event.preventDefault();
    const f = new FormData(event.target as HTMLFormElement);
    const get = (k: string) => String(f.get(k) ?? '') || undefined;
    navigate('history', {
      job: get('job'),
      node: get('node'),
      status: get('status'),
      trigger: get('trigger'),
      since: toIso(get('since') ?? ''),
      until: toIso(get('until') ?? ''),
    });
  };

  const jobs = job ? [job] : [...new Set((runs.data?.runs ?? []).map((r) => r.job))].slice(0, MAX_STRIPS);
  return html`<section aria-labelledby="history-title">
    <h1 id="history-title">History</h1>
    <form class="filters" role="search" aria-label="Filter runs" onSubmit=${onFilter}>
      <label>Job <input name="job" value=${job ?? ''} /></label>
      <label>Node <input name="node" value=${node ?? ''} /></label>
      <label
        >Status
        <select name="status" value=${status ?? ''}>
          <option value="">Any</option>
          ${STATUSES.map((s) => html`<option value=${s}>${s.replace('_', ' ')}</option>`)}
        </select></label
      >
      <label
        >Trigger
        <select name="trigger" value=${trigger ?? ''}>
          <option value="">Any</option>
          ${TRIGGERS.map((t) => html`<option value=${t}>${t.replace('_', ' ')}</option>`)}
        </select></label
      >
      <label>From <input name="since" type="datetime-local" value=${toLocal(since)} /></label>
      <label>Until <input name="until" type="datetime-local" value=${toLocal(until)} /></label>
      <button type="submit">Filter</button>
    </form>
    ${
      jobs.length > 0 &&
      html`<section aria-labelledby="strips-title" class="strips">
        <h2 id="strips-title">Last 50 outcomes</h2>
        ${jobs.map((j) => html`<${OutcomeStrip} key=${j} job=${j} />`)}
      </section>`
    }
    <${ErrorBox} message=${runs.error} />
    <${Loading} loaded=${runs} />
    ${runs.data && runs.data.runs.length === 0 && html`<p>No run matches these filters.</p>`}
    ${
      runs.data &&
      runs.data.runs.length > 0 &&
      html`<${TableFrame} label="Runs">
          <table>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Job</th>
                <th scope="col">Node</th>
                <th scope="col">Status</th>
                <th scope="col">Trigger</th>
                <th scope="col">Duration</th>
                <th scope="col">Exit</th>
              </tr>
            </thead>
            <tbody>
              ${runs.data.runs.map(
                (run) =>
                  html`<tr key=${run.id} data-run=${run.id}>
                    <td>
                      <a href=${href('runs', {}, run.id)}>${when(run.started_at ?? run.scheduled_at)}</a>
                    </td>
                    <th scope="row">
                      <a href=${href('history', { ...route.query, job: run.job, cursor: undefined })}
                        >${run.job}</a
                      >
                    </th>
                    <td>${run.node ?? '—'}</td>
                    <td><${StatusBadge} status=${run.status} /></td>
                    <td>${run.trigger.replace('_', ' ')}</td>
                    <td>${duration(run.duration_ms)}</td>
                    <td>${run.exit_code ?? '—'}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
        <//>
        <${Pager}
          cursor=${cursor}
          next=${runs.data.next_cursor}
          go=${(c?: string) => navigate('history', { ...route.query, cursor: c })}
        />`
    }
  </section>`;
}
