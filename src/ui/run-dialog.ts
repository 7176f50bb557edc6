/** "Run now": a modal form for the parameters the job declares (none declared: runs at once). */
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, need, type JobDetail } from './api.js';
import { ErrorBox } from './widgets.js';

type ParameterSpec = NonNullable<JobDetail['definition']['parameters']>[string];

interface Props {
  job: string;
  onClose: () => void;
  onStarted: (job: string, runIds: string[]) => void;
}

export function RunDialog({ job, onClose, onStarted }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [params, setParams] = useState<[string, ParameterSpec][] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  const start = async (parameters?: Record<string, string>) => {
    setFailure(null);
    try {
      const body = parameters && Object.keys(parameters).length > 0 ? { parameters } : {};
      const answer = await need(
        api.POST('/api/v1/jobs/{name}/run', { params: { path: { name: job } }, body }),
      );
      onStarted(job, answer.run_ids);
    } catch (err) {
      setFailure((err as Error).message);
    }
  };

  useEffect(() => {
    need(api.GET('/api/v1/jobs/{name}', { params: { path: { name: job } } })).then(
      (detail) => {
        const declared = Object.entries(detail.definition.parameters ?? {});
        if (declared.length === 0) void start();
        else setParams(declared);
      },
      (err: Error) => setFailure(err.message),
    );
  }, [job]);

  useEffect(() => {
    if ((params || failure) && dialog.current && !dialog.current.open) dialog.current.showModal();
  }, [params, failure]);

  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const values: Record<string, string> = {};
    for (const [name] of params ?? []) {
      const value = String(form.get(name) ?? '');
      if (value !== '') values[name] = value;
    }
    void start(values);
  };

  return html`<dialog ref=${dialog} aria-labelledby="run-title" onClose=${onClose}>
    <form onSubmit=${submit}>
      <h2 id="run-title">Run ${job} now</h2>
      <${ErrorBox} message=${failure} />
      ${params?.map(([name, spec]) => html`<${ParameterField} name=${name} spec=${spec} />`)}
      <div class="actions">
        ${params && html`<button type="submit" class="primary">Start run</button>`}
        <button type="button" onClick=${() => dialog.current?.close()}>Cancel</button>
      </div>
    </form>
  </dialog>`;
}

function ParameterField({ name, spec }: { name: string; spec: ParameterSpec }) {
  const id = `param-${name}`;
  const hint = [spec.required ? 'required' : 'optional', spec.pattern && `pattern ${spec.pattern}`]
    .filter(Boolean)
    .join(', ');
  const control = spec.enum
    ? html`<select id=${id} name=${name} required=${spec.required ?? false} aria-describedby=${`${id}-hint`}>
        ${!spec.required && html`<option value="">(default${spec.default ? `: ${spec.default}` : ''})</option>`}
        ${spec.enum.map((v) => html`<option value=${v} selected=${v === spec.default}>${v}</option>`)}
      </select>`
    : html`<input
        id=${id}
        name=${name}
        value=${spec.default ?? ''}
        required=${spec.required ?? false}
        maxlength=${spec.max_length}
        aria-describedby=${`${id}-hint`}
      />`;
  return html`<div class="field">
    <label for=${id}>${name}</label>
    ${control}
    <small id=${`${id}-hint`} class="muted">${hint}</small>
  </div>`;
}
