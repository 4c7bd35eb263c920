// Login: a bearer token pasted as is, or OAuth2 client credentials exchanged
// at /auth/token. Either way the token is kept in sessionStorage and
// /api/whoami decides where the user goes (patients to their own page).

import {clearToken, fetchToken, setToken} from './api.js';
import {el, notice} from './escape.js';

export function renderLogin(main, {startSession}) {
  const status = el('div', {class: 'status-area'});
  const reason = sessionStorage.getItem('junction.logout_reason');
  sessionStorage.removeItem('junction.logout_reason');
  if (reason) status.append(notice('error', reason));

  async function finish(token, form) {
    setToken(token);
    try {
      await startSession();
    } catch (err) {
      clearToken();
      throw err;
    } finally {
      form.removeAttribute('aria-busy');
    }
  }

  function fail(err) {
    status.replaceChildren(notice('error', `Sign-in failed: ${err.message}`));
  }

  const clientForm = el('form', {id: 'login-client', class: 'card', 'aria-labelledby': 'login-client-h'},
      el('h2', {id: 'login-client-h'}, 'Client credentials'),
      el('label', {for: 'client-id'}, 'Client id'),
      el('input', {id: 'client-id', name: 'client_id', autocomplete: 'username', required: true}),
      el('label', {for: 'client-secret'}, 'Client secret'),
      el('input', {id: 'client-secret', name: 'client_secret', type: 'password',
                   autocomplete: 'current-password', required: true}),
      el('label', {for: 'client-scope'}, 'Scopes (optional)'),
      el('input', {id: 'client-scope', name: 'scope', 'aria-describedby': 'client-scope-hint',
                   placeholder: 'all scopes the client may have'}),
      el('p', {id: 'client-scope-hint', class: 'hint'},
         'Space separated, e.g. “operator user/*.rs”. Empty: every scope allowed for the client.'),
      el('button', {type: 'submit'}, 'Sign in'));
  clientForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clientForm.setAttribute('aria-busy', 'true');
    status.replaceChildren(notice('info', 'Signing in…'));
    const data = new FormData(clientForm);
    try {
      const token = await fetchToken(String(data.get('client_id')).trim(),
                                     String(data.get('client_secret')),
                                     String(data.get('scope') || '').trim());
      await finish(token, clientForm);
    } catch (err) {
      clientForm.removeAttribute('aria-busy');
      fail(err);
    }
  });

  const tokenForm = el('form', {id: 'login-token', class: 'card', 'aria-labelledby': 'login-token-h'},
      el('h2', {id: 'login-token-h'}, 'Bearer token'),
      el('label', {for: 'token'}, 'Token (JWT)'),
      el('textarea', {id: 'token', name: 'token', rows: 5, required: true, spellcheck: 'false',
                      autocomplete: 'off', 'aria-describedby': 'token-hint'}),
      el('p', {id: 'token-hint', class: 'hint'},
         'From “junction token” or your authorization server. Patients: paste the token you were given.'),
      el('button', {type: 'submit'}, 'Sign in with token'));
  tokenForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = String(new FormData(tokenForm).get('token')).trim().replace(/^Bearer\s+/i, '');
    tokenForm.setAttribute('aria-busy', 'true');
    status.replaceChildren(notice('info', 'Signing in…'));
    try {
      await finish(token, tokenForm);
    } catch (err) {
      fail(err);
    }
  });

  main.append(
      el('h1', null, 'Sign in'),
      el('p', {class: 'lead'},
         'The Junction console uses the same bearer tokens as the APIs. Nothing is stored beyond this browser tab.'),
      status,
      el('div', {class: 'login-grid'}, clientForm, tokenForm));
  return null;
}
