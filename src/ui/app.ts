/** The console: who is signed in, the navigation, and the view the URL names. */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiFailure, need, storedToken, storeToken, type Role } from './api.js';
import { HistoryView } from './history.js';
import { JobsView } from './jobs.js';
import { Login } from './login.js';
import { NodesView } from './nodes.js';
import { ProblemsView } from './problems.js';
import { RunDetailView } from './run-detail.js';
import { RunningView } from './running.js';
import { href, useRoute, type Route } from './route.js';

interface Who {
  name: string | null;
  role: Role;
}

type Session = { state: 'checking' } | { state: 'login'; message: string | null } | { state: 'in'; who: Who };

const VIEWS: [string, string][] = [
  ['jobs', 'Jobs'],
  ['running', 'Running'],
  ['history', 'History'],
  ['nodes', 'Nodes'],
  ['problems', 'Problems'],
];

async function check(hadToken: boolean): Promise<Session> {
  try {
    return { state: 'in', who: await need(api.GET('/api/v1/whoami')) };
  } catch (err) {
    const failure = err as ApiFailure;
    if (failure.status !== 401) return { state: 'login', message: failure.message };
    storeToken(null);
    return {
      state: 'login',
      message: hadToken
        ? 'The daemon refused this token (401 Unauthorized). Check it and paste it again.'
        : null,
    };
  }
}

export function App() {
  const [session, setSession] = useState<Session>({ state: 'checking' });
  const route = useRoute();
  useEffect(() => void check(storedToken() !== null).then(setSession), []);

  const signIn = (token: string) => {
    storeToken(token);
    setSession({ state: 'checking' });
    void check(true).then(setSession);
  };
  const signOut = () => {
    storeToken(null);
    setSession({ state: 'login', message: null });
  };

  if (session.state === 'checking') return html`<main id="main"><p role="status">Connecting…</p></main>`;
  if (session.state === 'login') return html`<${Login} message=${session.message} onToken=${signIn} />`;
  const { who } = session;
  return html`<a class="skip" href="#main" onClick=${skipToMain}>Skip to content</a>
    <header class="top">
      <a class="brand" href=${href('jobs')}>distcron</a>
      <nav aria-label="Views">
        <ul>
          ${VIEWS.map(
            ([view, label]) =>
              html`<li>
                <a href=${href(view)} aria-current=${current(route, view) ? 'page' : undefined}>${label}</a>
              </li>`,
          )}
        </ul>
      </nav>
      <div class="who">
        <span>${who.name ?? 'no token needed'} · <span class="role">${who.role}</span></span>
        ${storedToken() !== null && html`<button type="button" onClick=${signOut}>Sign out</button>`}
      </div>
    </header>
    <main id="main" tabindex="-1">${view(route, who.role)}</main>`;
}

function current(route: Route, view: string): boolean {
  return route.view === view || (view === 'history' && route.view === 'runs');
}

function skipToMain(event: Event): void {
  event.preventDefault();
  document.getElementById('main')?.focus();
}

function view(route: Route, role: Role) {
  switch (route.view) {
    case 'running':
      return html`<${RunningView} role=${role} />`;
    case 'history':
      return html`<${HistoryView} route=${route} />`;
    case 'runs':
      return route.arg ? html`<${RunDetailView} id=${route.arg} />` : html`<${HistoryView} route=${route} />`;
    case 'nodes':
      return html`<${NodesView} />`;
    case 'problems':
      return html`<${ProblemsView} role=${role} />`;
    default:
      return html`<${JobsView} route=${route} role=${role} />`;
  }
}
