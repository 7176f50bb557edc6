/** The token form: the token is kept in this tab's sessionStorage only and sent as a Bearer header. */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';

export function Login({ message, onToken }: { message: string | null; onToken: (token: string) => void }) {
  const [token, setToken] = useState('');
  const submit = (event: Event) => {
    event.preventDefault();
    if (token.trim() !== '') onToken(token.trim());
  };
  return html`<main id="main" class="login">
    <h1>distcron</h1>
    <form onSubmit=${submit} aria-labelledby="login-title">
      <h2 id="login-title">Sign in with an API token</h2>
      ${message && html`<p class="error" role="alert">${message}</p>`}
      <label for="token">API token</label>
      <input
        id="token"
        type="password"
        autocomplete="off"
        value=${token}
        onInput=${(e: Event) => setToken((e.target as HTMLInputElement).value)}
        required
      />
      <p class="muted small">
        The token stays in this browser tab (sessionStorage) and is sent as
        <code>Authorization: Bearer</code>; no cookie is set.
      </p>
      <button type="submit" class="primary">Sign in</button>
    </form>
  </main>`;
}
