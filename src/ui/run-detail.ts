/** One run (and, for an `all` job, the other hosts of the same execution): output, exit, timing. */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, need, type RunDetail } from './api.js';
import { duration, when } from './format.js';
import { href } from './route.js';
import { LiveText } from './run-output.js';
import { ErrorBox, StatusBadge, useLoad } from './widgets.js';

/** The run, then its siblings of the same execution with their output. */
async function loadExecution(id: string): Promise<RunDetail[]> {
  const run = await need(api.GET('/api/v1/runs/{id}', { params: { path: { id } } }));
  // By the job filter, not /jobs/{name}/runs: an ad-hoc run's job (@adhoc) or a deleted job has no job route.
  const page = await need(api.GET('/api/v1/runs', { params: { query: { job: run.job, limit: 200 } } }));
  const siblings = page.runs.filter((r) => r.execution_id === run.execution_id && r.id !== run.id);
  const others = await Promise.all(
    siblings.map((r) => need(api.GET('/api/v1/runs/{id}', { params: { path: { id: r.id } } }))),
  );
  return [run, ...others];
}

export function RunDetailView({ id }: { id: string }) {
  const [live, setLive] = useState(true);
  // Live: the output follows the stream; the records are read again for status and new hosts.
  const runs = useLoad(() => loadExecution(id), id, live ? 5000 : 0);
  const first = runs.data?.[0];
  const running = runs.data?.some((r) => r.status === 'running') ?? true;
  useEffect(() => {
    if (runs.data) setLive(running);
  }, [runs.data, running]);
  return html`<section aria-labelledby="run-title">
    <h1 id="run-title">
      Run ${first ? html`of <a href=${href('history', { job: first.job })}>${first.job}</a>` : id}
    </h1>
    <${ErrorBox} message=${runs.error} />
    ${live && runs.data && html`<p class="muted" role="status">Running: this page follows the run.</p>`}
    ${runs.data?.map((run) => html`<${HostRun} key=${run.id} run=${run} onEnd=${runs.reload} />`)}
  </section>`;
}

function HostRun({ run, onEnd }: { run: RunDetail; onEnd: () => void }) {
  const params = Object.entries(run.parameters ?? {});
  return html`<article class="host-run" aria-label=${`Run on ${run.node ?? 'no node'}`}>
    <h2>${run.node ?? '(no node)'} <${StatusBadge} status=${run.status} /></h2>
    <dl class="facts">
      <dt>Run id</dt>
      <dd><code>${run.id}</code></dd>
      <dt>Exit code</dt>
      <dd>${run.exit_code ?? '—'}${run.signal ? ` (signal ${run.signal})` : ''}</dd>
      <dt>Trigger</dt>
      <dd>
        ${run.trigger.replace('_', ' ')}${run.attempt > 1 ? `, attempt ${run.attempt}` : ''}${run.requested_by ? ` by ${run.requested_by}` : ''}
      </dd>
      <dt>Scheduled</dt>
      <dd>${when(run.scheduled_at)}</dd>
      <dt>Started</dt>
      <dd>${when(run.started_at)}</dd>
      <dt>Finished</dt>
      <dd>${when(run.finished_at)}</dd>
      <dt>Duration</dt>
      <dd>${duration(run.duration_ms)}</dd>
      ${
        params.length > 0 &&
        html`<dt>Parameters</dt>
          <dd>${params.map(([k, v]) => html`<code>${k}=${v}</code> `)}</dd>`
      }
    </dl>
    ${run.error && html`<p class="error">Error: ${run.error}</p>`}
    ${
      run.status === 'running'
        ? html`<h3>Output (live)</h3>
            <${LiveText} id=${run.id} label=${`Output on ${run.node ?? 'no node'}`} onEnd=${onEnd} />`
        : html`<${StoredOutput} run=${run} />`
    }
  </article>`;
}

function StoredOutput({ run }: { run: RunDetail }) {
  return html`<h3>stdout</h3>
    <pre class="output" tabindex="0" aria-label=${`stdout on ${run.node ?? 'no node'}`}>
${run.stdout || '(empty)'}</pre>
    <h3>stderr</h3>
    <pre class="output" tabindex="0" aria-label=${`stderr on ${run.node ?? 'no node'}`}>
${run.stderr || '(empty)'}</pre>
    ${run.output_truncated && html`<p class="muted">The output was cut at the daemon's limit.</p>`}`;
}
