// The console's shell: session (token + /api/whoami), navigation and a small
// hash router. Each view is `render(main, ctx)` and may return a cleanup
// function (timers, listeners) that runs when the route changes.
//
// Routes: #/login, #/dashboard, #/messages?filters, #/messages/{id},
// #/patient (lookup), #/patient/{fhir id}, #/patient?identifier=MRN, #/me.
// A token with a `patient` claim only gets #/me and #/patient/{id} (the FHIR
// API limits it to its own compartment; anything else shows "nothing found").

import {api, clearToken, getToken} from './api.js';
import {el} from './escape.js';
import {renderLogin} from './login.js';
import {renderDashboard} from './dashboard.js';
import {renderMessages} from './messages.js';
import {renderMessageDetail} from './message_detail.js';
import {renderPatientLookup, renderPatientPage} from './patient.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const sessionBox = document.getElementById('session');

let session = null;  // the /api/whoami answer while logged in
let cleanup = null;

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

export function homeFor(who) {
  return who && who.patient ? '#/me' : '#/dashboard';
}

// Called by the login page with the token already stored.
export async function startSession() {
  session = await api.whoami();
  renderChrome();
  navigate(homeFor(session));
}

export function endSession(reason) {
  clearToken();
  session = null;
  renderChrome();
  sessionStorage.setItem('junction.logout_reason', reason || '');
  navigate('#/login');
}

function renderChrome() {
  const links = [];
  if (session && session.patient) {
    links.push(['#/me', 'My results']);
  } else if (session) {
    links.push(['#/dashboard', 'Dashboard'], ['#/messages', 'Messages'], ['#/patient', 'Patients']);
  }
  const current = location.hash.split('?')[0];
  nav.replaceChildren(el('ul', null, links.map(([href, label]) => {
    const active = current === href || (href !== '#/me' && current.startsWith(`${href}/`));
    return el('li', null, el('a', {href, 'aria-current': active ? 'page' : null}, label));
  })));
  if (!session) {
    sessionBox.replaceChildren();
    return;
  }
  const who = session.patient ? `patient ${session.patient}` : (session.role || 'no role');
  sessionBox.replaceChildren(
      el('span', {class: 'who'}, `${session.subject || session.client_id || 'token'} · ${who}`),
      el('button', {type: 'button', class: 'link', onclick: () => endSession('')}, 'Sign out'));
}

const routes = [
  [/^#\/dashboard$/, (m, ctx) => renderDashboard(main, ctx), 'Dashboard', 'staff'],
  [/^#\/messages(?:\?(.*))?$/, (m, ctx) =>
      renderMessages(main, ctx, new URLSearchParams(m[1] || '')), 'Messages', 'staff'],
  [/^#\/messages\/(\d+)$/, (m, ctx) => renderMessageDetail(main, ctx, m[1]), 'Message', 'staff'],
  [/^#\/patient$/, (m, ctx) => renderPatientLookup(main, ctx), 'Patients', 'staff'],
  [/^#\/patient\?(.*)$/, (m, ctx) => renderPatientPage(main, ctx, {
    identifier: new URLSearchParams(m[1]).get('identifier') || '',
  }), 'Patient', 'staff'],
  [/^#\/patient\/([^/?]+)$/, (m, ctx) =>
      renderPatientPage(main, ctx, {id: decodeURIComponent(m[1])}), 'Patient', 'any'],
  [/^#\/me$/, (m, ctx) => renderPatientPage(main, ctx, {id: ctx.session.patient, own: true}),
   'My results', 'patient'],
];

async function route() {
  if (cleanup) {
    try {
      cleanup();
    } catch (err) {
      // a view's cleanup must not stop navigation
    }
    cleanup = null;
  }
  const hash = location.hash || '#/';
  if (!getToken() || hash === '#/login') {
    session = null;
    renderChrome();
    document.title = 'Sign in · Junction console';
    main.replaceChildren();
    renderLogin(main, {startSession});
    return;
  }
  if (!session) {
    try {
      session = await api.whoami();
    } catch (err) {
      endSession(err.message);
      return;
    }
  }
  renderChrome();
  const match = routes.find(([re]) => re.test(hash));
  if (!match) {
    navigate(homeFor(session));
    return;
  }
  const [re, view, title, who] = match;
  if ((who === 'staff' && session.patient) || (who === 'patient' && !session.patient)) {
    navigate(homeFor(session));
    return;
  }
  document.title = `${title} · Junction console`;
  main.replaceChildren();
  const ctx = {session, navigate};
  cleanup = view(re.exec(hash), ctx) || null;
  if (cleanup && typeof cleanup.then === 'function') cleanup = null;
  const heading = main.querySelector('h1');
  if (heading && document.activeElement === document.body) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({preventScroll: true});
  }
}

window.addEventListener('hashchange', () => {
  route();
});
window.addEventListener('junction:unauthorized', () => {
  if (session) endSession('Your session has expired or the token was refused. Sign in again.');
});
route();
