// Message browser: filters (kept in the URL, so a search can be bookmarked),
// a newest-first list from GET /api/messages and "Load more" with the cursor.

import {api} from './api.js';
import {el, notice, show, when} from './escape.js';

const kFilters = [
  // [param, label, hint]
  ['channel', 'Channel', ''],
  ['status', 'Status', 'received, filtered, sent, error…'],
  ['type', 'Type', 'ORU or ORU^R01'],
  ['control_id', 'Control id', 'MSH-10'],
  ['patient_id', 'Patient id', 'PID-3'],
  ['since', 'Since', '15m, 2h, 7d or 2024-05-01T00:00:00Z'],
  ['until', 'Until', 'same forms as since'],
  ['q', 'Text', 'text in the raw message'],
];
const kStatuses = ['received', 'filtered', 'transformed', 'queued', 'sent', 'error', 'processed'];
const kPageSize = 50;

export function patientLink(patientId) {
  return el('a', {href: `#/patient?identifier=${encodeURIComponent(patientId)}`,
                  'aria-label': `Patient record for ${patientId}`}, patientId);
}

export function statusBadge(status) {
  return el('span', {class: `badge status-${String(status || 'unknown').replace(/[^a-z_-]/gi, '')}`},
            show(status));
}

function filterForm(params, ctx) {
  const form = el('form', {id: 'message-filters', class: 'filters', role: 'search',
                           'aria-label': 'Message filters'});
  const channelList = el('datalist', {id: 'channel-options'});
  const statusList = el('datalist', {id: 'status-options'}, kStatuses.map((s) => el('option', {value: s})));
  for (const [name, label, hint] of kFilters) {
    const id = `f-${name}`;
    const input = el('input', {id, name, value: params.get(name) || '', autocomplete: 'off',
                               placeholder: hint || null,
                               list: name === 'channel' ? 'channel-options' : name === 'status' ? 'status-options' : null,
                               type: name === 'q' ? 'search' : 'text'});
    form.append(el('div', {class: 'field'}, el('label', {for: id}, label), input));
  }
  form.append(channelList, statusList, el('div', {class: 'actions'},
      el('button', {type: 'submit'}, 'Search'),
      el('button', {type: 'button', class: 'secondary', onclick: () => ctx.navigate('#/messages')}, 'Clear')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim()) q.set(k, String(v).trim());
    const s = q.toString();
    ctx.navigate(s ? `#/messages?${s}` : '#/messages');
  });
  api.channels().then((data) => {
    for (const ch of (data && data.channels) || []) channelList.append(el('option', {value: ch.name}));
  }).catch(() => {});
  return form;
}

function messageRow(m) {
  return el('tr', {dataset: {id: m.id}},
      el('td', null, el('a', {href: `#/messages/${encodeURIComponent(m.id)}`,
                              'aria-label': `Message ${m.id}`}, String(m.id))),
      el('td', null, when(m.received_at)),
      el('td', null, show(m.channel)),
      el('td', null, show(m.type)),
      el('td', null, show(m.control_id)),
      el('td', null, m.patient_id ? patientLink(m.patient_id) : '—'),
      el('td', null, statusBadge(m.status)),
      el('td', {class: 'error-text'}, show(m.error)),
      el('td', {class: 'num'}, show(m.size)));
}

export function renderMessages(main, ctx, params) {
  const tbody = el('tbody');
  const table = el('table', {class: 'data', id: 'message-list'},
      el('caption', {class: 'visually-hidden'}, 'Messages, newest first'),
      el('thead', null, el('tr', null, ['Id', 'Received (UTC)', 'Channel', 'Type', 'Control id',
                                        'Patient id', 'Status', 'Error', 'Bytes']
          .map((h) => el('th', {scope: 'col'}, h)))),
      tbody);
  const count = el('p', {class: 'hint', role: 'status', id: 'message-count'});
  const statusArea = el('div', {class: 'status-area'});
  const more = el('button', {type: 'button', id: 'load-more', hidden: true}, 'Load more');

  const query = {};
  for (const [name] of kFilters) if (params.get(name)) query[name] = params.get(name);
  let cursor = null;
  let shown = 0;
  let alive = true;

  async function load() {
    more.disabled = true;
    statusArea.replaceChildren();
    try {
      const data = await api.messages({...query, limit: kPageSize, cursor: cursor || undefined});
      if (!alive) return;
      const list = (data && data.messages) || [];
      for (const m of list) tbody.append(messageRow(m));
      shown += list.length;
      cursor = data && data.next_cursor ? data.next_cursor : null;
      more.hidden = !cursor;
      // A text search scans part of the store per request: no match yet may
      // still come with a cursor to older messages.
      count.textContent = shown === 0 && cursor ? 'No matches in the newest messages searched; load more to search older ones.' :
          shown === 0 ? 'No messages match.' :
          `${shown} message${shown === 1 ? '' : 's'} shown${cursor ? ', more available' : ''}.`;
    } catch (err) {
      if (!alive) return;
      statusArea.replaceChildren(notice('error', `Search failed: ${err.message}`));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', load);

  main.append(el('h1', null, 'Messages'), filterForm(params, ctx), statusArea,
              el('div', {class: 'table-scroll'}, table), count, more);
  load();
  return () => {
    alive = false;
  };
}
