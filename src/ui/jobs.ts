/** Jobs: what is defined, when it fires next, how it went last; enable, disable, run now. */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, may, need, type JobSummary, type Role } from './api.js';
import type { operations } from './api-types.js';
import { ago, scheduleWords, when } from './format.js';
import { RunDialog } from './run-dialog.js';
import { href, navigate, type Route } from './route.js';
import { ErrorBox, Loading, Pager, StatusBadge, TableFrame, useLoad } from './widgets.js';

const PAGE = 50;
const STATUS_FILTERS = [
  ['', 'Any'],
  ['succeeded', 'Last run succeeded'],
  ['failed', 'Last run failed'],
  ['timed_out', 'Last run timed out'],
  ['running', 'Running'],
  ['never_run', 'Never run'],
  ['enabled', 'Enabled'],
  ['disabled', 'Disabled'],
] as const;

type JobStatusFilter = NonNullable<operations['listJobs']['parameters']['query']>['status'];

export function JobsView({ route, role }: { route: Route; role: Role }) {
  const { q = '', tag = '', status = '', cursor } = route.query;
  const key = JSON.stringify(route.query);
  const jobs = useLoad(
    () =>
      need(
        api.GET('/api/v1/jobs', {
          params: {
            query: {
              q: q || undefined,
              tag: tag || undefined,
              status: (status || undefined) as JobStatusFilter,
              cursor,
              limit: PAGE,
            },
          },
        }),
      ),
    key,
    10_000,
  );
  const [notice, setNotice] = useState<{ text: string; run?: string } | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [running, setRunning] = useState<string | null>(null);
  const set = (changes: Record<string, string | undefined>) =>
    navigate('jobs', { ...route.query, cursor: undefined, ...changes });

  const onFilter = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    set({
      q: String(form.get('q') ?? ''),
      tag: String(form.get('tag') ?? ''),
      status: String(form.get('status') ?? ''),
    });
  };

  const toggle = async (job: JobSummary) => {
    setFailure(null);
    try {
      const path = job.enabled ? '/api/v1/jobs/{name}/disable' : '/api/v1/jobs/{name}/enable';
      await need(api.POST(path, { params: { path: { name: job.name } }, body: {} }));
      setNotice({ text: `${job.name} is now ${job.enabled ? 'disabled' : 'enabled'}.` });
      jobs.reload();
    } catch (err) {
      setFailure((err as Error).message);
    }
  };

  const started = (job: string, runIds: string[]) => {
    setRunning(null);
    setNotice({ text: `Started ${job}.`, run: runIds[0] });
    jobs.reload();
  };

  return html`<section aria-labelledby="jobs-title">
    <h1 id="jobs-title">Jobs</h1>
    <form class="filters" role="search" aria-label="Filter jobs" onSubmit=${onFilter}>
      <label>Text <input name="q" type="search" value=${q} placeholder="name or description" /></label>
      <label>Tag <input name="tag" value=${tag} /></label>
      <label
        >Status
        <select name="status" value=${status}>
          ${STATUS_FILTERS.map(([value, text]) => html`<option value=${value}>${text}</option>`)}
        </select>
      </label>
      <button type="submit">Filter</button>
    </form>
    <div role="status" class="notice">
      ${
        notice &&
        html`${notice.text}${notice.run && html` <a href=${href('runs', {}, notice.run)}>See the run</a>`}`
      }
    </div>
    <${ErrorBox} message=${failure ?? jobs.error} />
    <${Loading} loaded=${jobs} />
    ${
      jobs.data &&
      html`<${JobTable}
          jobs=${jobs.data.jobs}
          role=${role}
          onToggle=${toggle}
          onRun=${(job: JobSummary) => setRunning(job.name)}
          onTag=${(t: string) => set({ tag: t })}
        />
        <${Pager}
          cursor=${cursor}
          next=${jobs.data.next_cursor}
          go=${(c?: string) => navigate('jobs', { ...route.query, cursor: c })}
        />`
    }
    ${running && html`<${RunDialog} job=${running} onClose=${() => setRunning(null)} onStarted=${started} />`}
  </section>`;
}

interface TableProps {
  jobs: JobSummary[];
  role: Role;
  onToggle: (job: JobSummary) => void;
  onRun: (job: JobSummary) => void;
  onTag: (tag: string) => void;
}

function JobTable({ jobs, role, onToggle, onRun, onTag }: TableProps) {
  if (jobs.length === 0) return html`<p>No job matches these filters.</p>`;
  const operate = may(role, 'operate');
  return html`<${TableFrame} label="Jobs">
    <table class="jobs">
      <thead>
        <tr>
          <th scope="col">Job</th>
          <th scope="col">Schedule</th>
          <th scope="col">Next fire</th>
          <th scope="col">Last run</th>
          <th scope="col">Enabled</th>
          ${operate && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}
        </tr>
      </thead>
      <tbody>
        ${jobs.map((job) => html`<${JobRow} key=${job.name} job=${job} operate=${operate} onToggle=${onToggle} onRun=${onRun} onTag=${onTag} />`)}
      </tbody>
    </table>
  <//>`;
}

function JobRow(props: { job: JobSummary; operate: boolean } & Omit<TableProps, 'jobs' | 'role'>) {
  const { job, operate } = props;
  const next = job.next_fire_times[0];
  return html`<tr data-job=${job.name}>
    <th scope="row">
      <a href=${href('history', { job: job.name })}>${job.name}</a>
      ${job.description && html`<div class="muted small">${job.description}</div>`}
      ${
        job.tags.length > 0 &&
        html`<div class="tags">
          ${job.tags.map(
            (t) =>
              html`<button
                type="button"
                class="tag"
                onClick=${() => props.onTag(t)}
                aria-label=${`Filter by tag ${t}`}
              >
                ${t}
              </button>`,
          )}
        </div>`
      }
    </th>
    <td><span title=${job.schedule}>${scheduleWords(job.schedule)}</span></td>
    <td>${next ? html`<time datetime=${next} title=${when(next)}>${ago(next)}</time>` : '—'}</td>
    <td>
      ${
        job.running > 0
          ? html`<${StatusBadge} status="running" />`
          : job.last_run
            ? html`<a href=${href('runs', {}, job.last_run.id)}
                ><${StatusBadge}
                  status=${job.last_run.status}
                  at=${job.last_run.finished_at ?? job.last_run.started_at}
              /></a>`
            : html`<span class="muted">never run</span>`
      }
    </td>
    <td>
      ${
        operate
          ? html`<label class="switch">
              <input
                type="checkbox"
                role="switch"
                checked=${job.enabled}
                onChange=${() => props.onToggle(job)}
                aria-label=${`Enabled: ${job.name}`}
              />
              <span aria-hidden="true">${job.enabled ? 'on' : 'off'}</span>
            </label>`
          : html`<span>${job.enabled ? 'yes' : 'no'}</span>`
      }
    </td>
    ${
      operate &&
      html`<td>
        <button
          type="button"
          class="run-now"
          onClick=${() => props.onRun(job)}
          aria-label=${`Run now: ${job.name}`}
        >
          Run now
        </button>
      </td>`
    }
  </tr>`;
}
