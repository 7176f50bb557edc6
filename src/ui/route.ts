/**
 * Shareable links: the view and its filters live in the URL hash (#/history?job=backup), so a
 * copied address opens the same view, and the browser's back button walks through filters.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** e.g. "jobs", "runs" */
  view: string;
  /** The rest of the path, e.g. the run id of #/runs/ID */
  arg: string | null;
  query: Record<string, string>;
}

export function parseHash(hash: string): Route {
  const text = hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = text.split('?', 2);
  const [view = '', ...rest] = path.split('/');
  const query = Object.fromEntries(new URLSearchParams(search));
  return { view: view || 'jobs', arg: rest.length > 0 ? decodeURIComponent(rest.join('/')) : null, query };
}

/** `#/view[/arg][?query]`, without empty filter values. */
export function href(view: string, query: Record<string, string | undefined> = {}, arg?: string): string {
  const entries = Object.entries(query).filter(
    (e): e is [string, string] => e[1] !== undefined && e[1] !== '',
  );
  const search = new URLSearchParams(entries).toString();
  return `#/${view}${arg === undefined ? '' : `/${encodeURIComponent(arg)}`}${search ? `?${search}` : ''}`;
}

export function navigate(view: string, query: Record<string, string | undefined> = {}, arg?: string): void {
  location.hash = href(view, query, arg);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
