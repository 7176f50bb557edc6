/** Small shared pieces: loading with polling, status badges, messages, table frames, paging. */
import { html } from 'htm/preact';
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { RunStatus } from './api.js';
import { ago, statusSymbol, statusText, statusTone } from './format.js';

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/**
 * Calls `load` when `key` changes and every `everyMs` while the page is visible; keeps the last
 * data while reloading so the view does not flicker.
 */
export function useLoad<T>(load: () => Promise<T>, key: string, everyMs = 0): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const latest = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const reload = useCallback(() => {
    const ticket = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    loadRef.current().then(
      (data) => ticket === latest.current && setState({ data, error: null, loading: false }),
      (err: Error) =>
        ticket === latest.current && setState((s) => ({ ...s, error: err.message, loading: false })),
    );
  }, []);
  useEffect(() => {
    setState({ data: null, error: null, loading: true });
    reload();
  }, [key, reload]);
  useEffect(() => {
    if (everyMs <= 0) return;
    const timer = setInterval(() => document.visibilityState === 'visible' && reload(), everyMs);
    return () => clearInterval(timer);
  }, [key, everyMs, reload]);
  return { ...state, reload };
}

/** Re-renders every `ms` (elapsed times, ages). */
export function useTick(ms: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

export function StatusBadge({ status, at }: { status: RunStatus; at?: string | null }) {
  return html`<span class=${`status tone-${statusTone(status)}`}>
    <span aria-hidden="true">${statusSymbol(status)} </span>${statusText(status)}${
      at ? html`<span class="age"> · ${ago(at)}</span>` : null
    }
  </span>`;
}

export function ErrorBox({ message }: { message: string | null }) {
  return message ? html`<p class="error" role="alert">${message}</p>` : null;
}

/** A horizontally scrollable frame for a wide table, reachable by keyboard. */
export function TableFrame({ label, children }: { label: string; children: ComponentChildren }) {
  return html`<div class="table-frame" role="region" aria-label=${label} tabindex="0">${children}</div>`;
}

export function Loading({ loaded }: { loaded: { loading: boolean; data: unknown } }) {
  return loaded.loading && loaded.data === null ? html`<p class="muted" role="status">Loading…</p>` : null;
}

/** First / previous / next page over opaque cursors; the cursors seen are kept to go back. */
export function Pager(props: {
  cursor: string | undefined;
  next: string | null | undefined;
  go: (cursor: string | undefined) => void;
}) {
  const seen = useRef<(string | undefined)[]>([]);
  const back = () => props.go(seen.current.pop());
  const forward = () => {
    seen.current.push(props.cursor);
    props.go(props.next ?? undefined);
  };
  const first = () => {
    seen.current = [];
    props.go(undefined);
  };
  const atStart = props.cursor === undefined;
  return html`<nav class="pager" aria-label="Pages">
    <button type="button" onClick=${first} disabled=${atStart}>First page</button>
    <button type="button" onClick=${back} disabled=${atStart || seen.current.length === 0}>Previous</button>
    <button type="button" onClick=${forward} disabled=${!props.next}>Next page</button>
  </nav>`;
}
